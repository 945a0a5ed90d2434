package dev.siderolink.server.logs;

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
        Health.Builder health = tcpAddress != null && udpAddress != null && writer.isAlive() && !writer.isFailing() ? Health.up() : Health.down();
        health.withDetail("tcp", tcpAddress == null ? "not listening" : describe(tcpAddress))
                .withDetail("udp", udpAddress == null ? "not listening" : describe(udpAddress))
                .withDetail("udpReceiveBufferBytes", udp.grantedReceiveBuffer())
                .withDetail("tcpConnections", metrics.openConnections())
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        if (!writer.isAlive()) {
            health.withDetail("outputProblem", "the writer thread has stopped");
        } else if (writer.isFailing()) {
            health.withDetail("outputProblem", "writes are failing: " + writer.lastError());
        }
        return health.build();
    }

    private static String describe(InetSocketAddress address) {
        return Listen.describe(address);
    }
}
