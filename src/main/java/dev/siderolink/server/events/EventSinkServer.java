package dev.siderolink.server.events;

import dev.siderolink.server.grpc.PeerAddress;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollChannelOption;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The event sink's own gRPC server: plaintext HTTP/2 on the tunnel address only (the Provision
 * API's server listens on every address and must not carry events). IP_FREEBIND lets it bind before
 * the interface holds the address, as the log receivers do.
 */
final class EventSinkServer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EventSinkServer.class);
    private static final int MAX_EVENT_BYTES = 1 << 20;

    private final InetAddress address;
    private final int port;
    private final EventSinkService service;
    private volatile Server server;

    EventSinkServer(InetAddress address, int port, EventSinkService service) {
        this.address = address;
        this.port = port;
        this.service = service;
    }

    @Override
    public void start() {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(address, port))
                .addService(ServerInterceptors.intercept(service, new PeerAddress()))
                .maxInboundMessageSize(MAX_EVENT_BYTES)
                // the handler never blocks (store writes and output waits are asynchronous): no thread hop per call
                .directExecutor()
                // Talos keeps its connection; it may ping while idle between events
                .permitKeepAliveWithoutCalls(true)
                .permitKeepAliveTime(10, TimeUnit.SECONDS);
        if (Epoll.isAvailable()) {
            builder.withOption(EpollChannelOption.IP_FREEBIND, true);
        }
        try {
            server = builder.build().start();
        } catch (IOException e) {
            throw new IllegalStateException("Failed to bind to address " + describe(port) + " (Talos event sink): " + e.getMessage(), e);
        }
        log.info("event sink: gRPC on {}", describe(boundPort()));
    }

    private String describe(int p) {
        return PeerAddress.format(new InetSocketAddress(address, p));
    }

    /** True while the server is started and not shut down; it never restarts by itself. */
    boolean isServing() {
        Server current = server;
        return current != null && !current.isShutdown();
    }

    int boundPort() {
        Server current = server;
        return current == null ? -1 : current.getPort();
    }

    InetAddress address() {
        return address;
    }

    @Override
    public void stop() {
        Server current = server;
        server = null;
        if (current != null) {
            current.shutdown();
            try {
                if (!current.awaitTermination(5, TimeUnit.SECONDS)) {
                    current.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                current.shutdownNow();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    @Override
    public int getPhase() {
        return 0; // after the output writers start, before they stop
    }
}
