package dev.siderolink.server.events;

import dev.siderolink.server.output.LineWriter;
import dev.siderolink.server.grpc.PeerAddress;
import java.net.InetSocketAddress;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/** serverevents is up when the sink is listening and its output's writer is alive and writing. */
final class EventsHealthIndicator implements HealthIndicator {

    private final EventSinkServer server;
    private final LineWriter writer;

    EventsHealthIndicator(EventSinkServer server, LineWriter writer) {
        this.server = server;
        this.writer = writer;
    }

    @Override
    public Health health() {
        int port = server.boundPort();
        String problem = writer.problem();
        Health.Builder health = port > 0 && problem == null ? Health.up() : Health.down();
        health.withDetail("grpc", port > 0 ? PeerAddress.format(new InetSocketAddress(server.address(), port)) : "not listening")
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        if (problem != null) {
            health.withDetail("outputProblem", problem);
        }
        return health.build();
    }
}
