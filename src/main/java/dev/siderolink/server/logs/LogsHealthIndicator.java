package dev.siderolink.server.logs;

import dev.siderolink.server.grpc.PeerAddress;
import dev.siderolink.server.output.LineWriter;
import java.net.InetSocketAddress;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/** serverlogs is up when both receivers are bound and its output's writer is alive and writing. */
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
        InetSocketAddress tcpAddress = tcp.boundAddress();
        InetSocketAddress udpAddress = udp.boundAddress();
        String problem = writer.problem();
        Health.Builder health = tcpAddress != null && udpAddress != null && problem == null ? Health.up() : Health.down();
        health.withDetail("tcp", tcpAddress == null ? "not listening" : PeerAddress.format(tcpAddress))
                .withDetail("udp", udpAddress == null ? "not listening" : PeerAddress.format(udpAddress))
                .withDetail("udpReceiveBufferBytes", udp.grantedReceiveBuffer())
                .withDetail("tcpConnections", metrics.openConnections())
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        if (problem != null) {
            health.withDetail("outputProblem", problem);
        }
        return health.build();
    }
}
