package dev.siderolink.server.logs;

import dev.siderolink.server.logs.LogMetrics.Drop;
import dev.siderolink.server.logs.LogMetrics.Transport;
import dev.siderolink.server.output.LineChunk;
import dev.siderolink.server.output.LineWriter;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.NettyInbound;
import reactor.netty.NettyOutbound;
import reactor.netty.tcp.TcpServer;

/**
 * Kernel logs over TCP: one long-lived connection per node, JSON lines, nothing ever sent back.
 *
 * <p>Each read is cut into lines, annotated and handed to the writer as one chunk; the next read
 * is requested only when the writer has room ({@code concatMap} on {@link LineWriter#submit}), so
 * a node whose output is behind is paused by TCP flow control, which Talos' sender waits out.
 */
public final class TcpLogReceiver implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(TcpLogReceiver.class);

    private final Listen listen;
    private final Ingest ingest;
    private final Set<reactor.netty.Connection> live = ConcurrentHashMap.newKeySet();
    private volatile DisposableServer server;

    TcpLogReceiver(Listen listen, Ingest ingest) {
        this.listen = listen;
        this.ingest = ingest;
    }

    @Override
    public void start() {
        TcpServer tcp = TcpServer.create()
                .host(listen.address().getHostAddress())
                .port(listen.port())
                // reads of up to 64 KiB carry a few hundred lines each: one chunk, one queue hand-over
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 8192, 65536))
                .handle(this::serve);
        if (Listen.canFreebind()) {
            tcp = tcp.option(EpollChannelOption.IP_FREEBIND, true);
        }
        try {
            server = tcp.bindNow(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            throw listen.bindFailure("kernel logs over TCP", e);
        }
        log.info("kernel logs: TCP on {}", listen.describe());
    }

    private Publisher<Void> serve(NettyInbound in, NettyOutbound out) {
        InetSocketAddress[] remote = new InetSocketAddress[1];
        reactor.netty.Connection[] self = new reactor.netty.Connection[1];
        in.withConnection(c -> {
            remote[0] = (InetSocketAddress) c.channel().remoteAddress();
            self[0] = c;
        });
        InetAddress source = remote[0] == null ? null : remote[0].getAddress();
        if (!ingest.network().contains(source)) {
            ingest.metrics().connectionRefused();
            log.debug("refused kernel log connection from {}: not in the SideroLink prefix {}", remote[0], ingest.network().prefixText());
            return Mono.empty(); // closes the connection
        }
        Connection connection = new Connection(source);
        ingest.metrics().connectionOpened();
        live.add(self[0]);
        return in.receive()
                .<LineChunk>handle((buf, sink) -> {
                    LineChunk chunk = connection.read(buf);
                    if (chunk != null) {
                        sink.next(chunk);
                    }
                })
                .concatMap(ingest.writer()::submit, 1)
                .onErrorResume(e -> {
                    log.debug("kernel log connection from {} failed: {}", remote[0], e.toString());
                    return Mono.empty();
                })
                .doFinally(signal -> {
                    live.remove(self[0]);
                    connection.finish();
                    ingest.metrics().connectionClosed();
                })
                .then();
    }

    /** One node's stream: framing state, and the annotation looked up afresh on every read. */
    private final class Connection implements LineFramer.Lines {
        private final InetAddress source;
        private final LineFramer framer = new LineFramer(ingest.maxMessage());
        private final LineAnnotator annotator = new LineAnnotator();
        private final LineBuffer out = new LineBuffer(16 * 1024);
        private EncodedAnnotation annotation = EncodedAnnotation.NONE;
        private int messages;
        private int malformed;
        private int oversize;

        Connection(InetAddress source) {
            this.source = source;
        }

        /** Annotates the complete lines in {@code buf}; null when it completed none. */
        LineChunk read(ByteBuf buf) {
            int bytes = buf.readableBytes();
            annotation = annotation.reuseFor(ingest.directory().lookup(source));
            messages = 0;
            malformed = 0;
            oversize = 0;
            framer.feed(buf, this);
            ingest.metrics().received(Transport.TCP, messages, bytes);
            ingest.metrics().dropped(Transport.TCP, Drop.MALFORMED, malformed);
            ingest.metrics().dropped(Transport.TCP, Drop.OVERSIZE, oversize);
            if (out.isEmpty()) {
                return null;
            }
            ingest.metrics().accepted(annotation.source.serverUuid(), out.lines());
            LineChunk chunk = out.take(ingest.metrics().stream(Transport.TCP));
            ingest.history().recordLines(annotation.source.serverUuid(), chunk.bytes(), chunk.length());
            return chunk;
        }

        @Override
        public void line(byte[] bytes, int off, int len) {
            if (len == 0 || (len == 1 && bytes[off] == '\r')) {
                return; // an empty line carries no message
            }
            messages++;
            if (!annotator.annotate(bytes, off, len, annotation, out)) {
                malformed++;
            }
        }

        @Override
        public void oversize() {
            messages++;
            oversize++;
        }

        void finish() {
            if (framer.finish()) {
                ingest.metrics().received(Transport.TCP, 1, 0);
                ingest.metrics().dropped(Transport.TCP, Drop.TRUNCATED, 1);
            }
        }
    }

    /** True while the listening socket is open (it never reopens by itself once closed). */
    public boolean isListening() {
        DisposableServer current = server;
        return current != null && !current.isDisposed();
    }

    /** The address and port actually bound (the port differs from the configured one when that was 0). */
    public InetSocketAddress boundAddress() {
        DisposableServer current = server;
        return current == null ? null : (InetSocketAddress) current.address();
    }

    @Override
    public void stop() {
        DisposableServer current = server;
        server = null;
        if (current != null) {
            current.disposeNow(Duration.ofSeconds(5));
        }
        // Talos keeps its connection forever: close them, or a stopped receiver would hold them open.
        live.forEach(reactor.netty.Connection::dispose);
    }

    @Override
    public boolean isRunning() {
        return server != null;
    }

    @Override
    public int getPhase() {
        return LogsConfiguration.RECEIVER_PHASE;
    }
}
