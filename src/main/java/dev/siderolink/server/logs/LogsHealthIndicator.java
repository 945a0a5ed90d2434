package dev.siderolink.server.logs;

import dev.siderolink.server.grpc.PeerAddress;
import dev.siderolink.server.output.LineWriter;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * serverlogs, in both probe groups: UP while both receivers' sockets are open and the output's
 * writer thread runs. They open before the HTTP server starts (or start-up fails) and never reopen
 * by themselves, so DOWN means this process can no longer receive or write kernel logs until it is
 * restarted. A failing output (disk full, a closed pipe) is not DOWN: writes are retried with the
 * next lines, and a restart would not empty the disk; it shows as {@code outputProblem} here and in
 * {@code siderolink_logs_dropped_total{reason="output-error"}}.
 */
final class LogsHealthIndicator implements HealthIndicator {

    private final TcpLogReceiver tcp;
    private final UdpLogReceiver udp;
    private final LineWriter writer;
    private final LogMetrics metrics;

    LogsHealthIndicator(TcpLogReceiver tcp, UdpLogReceiver udp, LineWriter writer, LogMetrics metrics) {
        this.tcp = tcp;
        this.udp = udp;
        this.writer = writer;
        this.metrics = metrics;
    }

    @Override
    public Health health() {
        boolean tcpUp = tcp.isListening();
        boolean udpUp = udp.isListening();
        Health.Builder health;
        if (!tcpUp || !udpUp) {
            health = Health.down().withDetail("reason", (tcpUp ? "UDP" : udpUp ? "TCP" : "TCP and UDP") + " receiver not listening");
        } else if (writer.isDead()) {
            health = Health.down().withDetail("reason", "the output's writer thread has stopped: no line is written any more");
        } else {
            health = Health.up();
        }
        InetSocketAddress tcpAddress = tcp.boundAddress();
        InetSocketAddress udpAddress = udp.boundAddress();
        health.withDetail("tcp", tcpUp && tcpAddress != null ? PeerAddress.format(tcpAddress) : "not listening")
                .withDetail("udp", udpUp && udpAddress != null ? PeerAddress.format(udpAddress) : "not listening")
                .withDetail("udpReceiveBufferBytes", udp.grantedReceiveBuffer())
                .withDetail("tcpConnections", metrics.openConnections())
                .withDetail("received", received())
                .withDetail("written", metrics.writtenCount())
                .withDetail("dropped", dropped());
        Instant last = metrics.lastAccepted();
        health.withDetail("lastMessage", last == null ? "never" : last.toString())
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        String problem = writer.problem();
        if (problem != null) {
            health.withDetail("outputProblem", problem);
        }
        return health.build();
    }

    private Map<String, Long> received() {
        Map<String, Long> received = new TreeMap<>();
        for (LogMetrics.Transport transport : LogMetrics.Transport.values()) {
            received.put(transport.tag, metrics.receivedCount(transport));
        }
        return received;
    }

    /** By reason, including what the kernel dropped from the UDP socket's full receive buffer. */
    private Map<String, Long> dropped() {
        Map<String, Long> dropped = new TreeMap<>(metrics.droppedByReason());
        long kernel = udp.kernelDrops();
        if (kernel > 0) {
            dropped.put("receive-buffer", kernel);
        }
        return dropped;
    }
}
