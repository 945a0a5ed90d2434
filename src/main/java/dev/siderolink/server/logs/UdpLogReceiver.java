package dev.siderolink.server.logs;

import dev.siderolink.server.inventory.Annotation;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.logs.LogMetrics.Drop;
import dev.siderolink.server.logs.LogMetrics.Transport;
import dev.siderolink.server.output.LineChunk;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.netty.Connection;
import reactor.netty.udp.UdpServer;

/**
 * Kernel logs over UDP: one JSON object per datagram (no newline), from a connected socket on the
 * node. UDP cannot be paused, so a datagram that finds the output queue full is dropped and counted
 * ({@code overload}); the large socket receive buffer absorbs bursts and pauses, and what the
 * kernel itself drops when that buffer is full is read back from {@code /proc/net/udp6}
 * ({@code receive-buffer}).
 */
public final class UdpLogReceiver implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(UdpLogReceiver.class);
    private static final int ANNOTATION_CACHE = 4096;

    private final Listen listen;
    private final int receiveBuffer;
    private final Ingest ingest;
    private final LineAnnotator annotator = new LineAnnotator();
    private final LineBuffer out = new LineBuffer(512);
    private final byte[] datagram = new byte[LogsProperties.MAX_DATAGRAM + 1];
    // Touched by the socket's event loop only (one channel, one thread).
    private final Map<Annotation, EncodedAnnotation> encoded = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Annotation, EncodedAnnotation> eldest) {
            return size() > ANNOTATION_CACHE;
        }
    };
    private volatile Connection connection;
    private volatile int grantedReceiveBuffer;
    private volatile long lastKernelDrops;

    UdpLogReceiver(Listen listen, int receiveBuffer, Ingest ingest) {
        this.listen = listen;
        this.receiveBuffer = receiveBuffer;
        this.ingest = ingest;
    }

    @Override
    public void start() {
        UdpServer udp = UdpServer.create()
                .host(listen.address().getHostAddress())
                .port(listen.port())
                .option(ChannelOption.SO_RCVBUF, receiveBuffer)
                // Netty's default is 2 KiB per datagram, which would truncate larger ones silently.
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(LogsProperties.MAX_DATAGRAM + 1))
                .handle((in, out) -> in.receiveObject().doOnNext(this::receive).then());
        if (Listen.canFreebind()) {
            udp = udp.option(EpollChannelOption.IP_FREEBIND, true);
        }
        try {
            connection = udp.bindNow(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            throw listen.bindFailure("kernel logs over UDP", e);
        }
        // Linux reports twice the size it grants (the other half is bookkeeping) and caps the request at net.core.rmem_max.
        grantedReceiveBuffer = connection.channel().config().getOption(ChannelOption.SO_RCVBUF) / 2;
        if (grantedReceiveBuffer < receiveBuffer) {
            log.warn("kernel logs: UDP receive buffer is {} bytes, not the {} asked for (siderolink.logs.udp-receive-buffer): the kernel caps it at "
                    + "net.core.rmem_max; raise that sysctl so bursts are not dropped (siderolink_logs_dropped_total with reason=\"receive-buffer\")",
                    grantedReceiveBuffer, receiveBuffer);
        }
        log.info("kernel logs: UDP on {}, receive buffer {} bytes", listen.describe(), grantedReceiveBuffer);
    }

    private void receive(Object message) {
        if (!(message instanceof DatagramPacket packet)) {
            return;
        }
        ByteBuf content = packet.content();
        int length = content.readableBytes();
        ingest.metrics().received(Transport.UDP, 1, length);
        InetAddress source = packet.sender().getAddress();
        if (!ingest.network().contains(source)) {
            ingest.metrics().dropped(Transport.UDP, Drop.UNKNOWN_SOURCE, 1);
            return;
        }
        if (length > ingest.maxMessage()) {
            ingest.metrics().dropped(Transport.UDP, Drop.OVERSIZE, 1);
            return;
        }
        content.getBytes(content.readerIndex(), datagram, 0, length);
        Annotation annotation = ingest.directory().lookup(source);
        EncodedAnnotation fields = encoded.computeIfAbsent(annotation, EncodedAnnotation::new);
        if (!annotator.annotate(datagram, 0, length, fields, out)) {
            ingest.metrics().dropped(Transport.UDP, Drop.MALFORMED, 1);
            return;
        }
        LineChunk chunk = out.take(ingest.metrics().stream(Transport.UDP));
        ingest.history().recordLines(annotation.serverUuid(), chunk.bytes(), chunk.length());
        if (ingest.writer().offer(chunk)) {
            ingest.metrics().accepted(annotation.serverUuid(), 1);
        } else {
            ingest.metrics().dropped(Transport.UDP, Drop.OVERLOAD, 1);
        }
    }

    /**
     * Datagrams the kernel dropped because this socket's receive buffer was full: the {@code drops}
     * column of {@code /proc/net/udp6} for the bound address (0 where that file cannot be read).
     */
    public long kernelDrops() {
        InetSocketAddress bound = boundAddress();
        if (bound != null) {
            lastKernelDrops = Math.max(lastKernelDrops, ProcNetUdp.drops(bound));
        }
        return lastKernelDrops; // a counter: never goes back, also not after stop
    }

    /** The receive buffer the kernel granted, in bytes (0 before start). */
    public int grantedReceiveBuffer() {
        return grantedReceiveBuffer;
    }

    /** True while the socket is open; it never reopens by itself (an error in the handler would close it). */
    public boolean isListening() {
        Connection current = connection;
        return current != null && !current.isDisposed();
    }

    public InetSocketAddress boundAddress() {
        Connection current = connection;
        return current == null ? null : (InetSocketAddress) current.channel().localAddress();
    }

    @Override
    public void stop() {
        Connection current = connection;
        connection = null;
        if (current != null) {
            current.disposeNow(Duration.ofSeconds(5));
        }
    }

    @Override
    public boolean isRunning() {
        return connection != null;
    }

    @Override
    public int getPhase() {
        return LogsConfiguration.RECEIVER_PHASE;
    }
}
