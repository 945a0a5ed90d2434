package dev.siderolink.server.talosapi;

import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The Talos API's own gRPC server on every address: TLS 1.2/1.3 with the installation CA's server
 * certificate, and client certificates required and verified against the same CA (as apid does),
 * carrying a role that may read ({@link RoleCheck}).
 */
public final class TalosApiServer implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(TalosApiServer.class);

    private final int port;
    private final TalosPki.Issued ca;
    private final TalosPki.Issued serverCertificate;
    private final Supplier<MachineEventsService> service;
    private volatile Server server;

    /**
     * @param service the Events service, or null from the supplier when this process has no
     *     {@code EventHistory}: the server then does not start (nothing to serve)
     */
    TalosApiServer(int port, TalosPki.Issued ca, TalosPki.Issued serverCertificate, Supplier<MachineEventsService> service) {
        this.port = port;
        this.ca = ca;
        this.serverCertificate = serverCertificate;
        this.service = service;
    }

    static SslContext sslContext(TalosPki.Issued ca, TalosPki.Issued serverCertificate) throws SSLException {
        return GrpcSslContexts.configure(SslContextBuilder.forServer(serverCertificate.key(), serverCertificate.certificate(), ca.certificate()))
                .trustManager(ca.certificate())
                .clientAuth(ClientAuth.REQUIRE)
                .protocols("TLSv1.3", "TLSv1.2")
                .build();
    }

    @Override
    public void start() {
        MachineEventsService events = service.get();
        if (events == null) {
            log.warn("Talos API (talosctl events) not started: this build has no event history (EventHistory bean)");
            return;
        }
        try {
            server = NettyServerBuilder.forAddress(new InetSocketAddress(port))
                    .sslContext(sslContext(ca, serverCertificate))
                    .addService(ServerInterceptors.intercept(events, events.selectionInterceptor(), new RoleCheck()))
                    .permitKeepAliveWithoutCalls(true)
                    .permitKeepAliveTime(10, TimeUnit.SECONDS)
                    .build()
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("Failed to bind to address *:" + port + " (Talos API, siderolink.talos-api.port): " + e.getMessage(), e);
        }
        log.info("Talos API (talosctl events): gRPC with TLS on port {}", boundPort());
    }

    public int boundPort() {
        Server current = server;
        return current == null ? -1 : current.getPort();
    }

    @Override
    public void stop() {
        Server current = server;
        server = null;
        if (current != null) {
            current.shutdownNow(); // streams never end by themselves: end them
            try {
                current.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    /** True while the gRPC server is bound and not shut down. */
    public boolean isServing() {
        Server current = server;
        return current != null && !current.isShutdown();
    }
}
