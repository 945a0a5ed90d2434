package dev.siderolink.server.events;

import dev.siderolink.server.output.LineWriter;
import inet.ipaddr.ipv6.IPv6Address;
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
        Health.Builder health = port > 0 && writer.isAlive() && !writer.isFailing() ? Health.up() : Health.down();
        health.withDetail("grpc", port > 0 ? "[" + new IPv6Address(server.address().getAddress()).toCompressedString() + "]:" + port : "not listening")
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        if (!writer.isAlive()) {
            health.withDetail("outputProblem", "the writer thread has stopped");
        } else if (writer.isFailing()) {
            health.withDetail("outputProblem", "writes are failing: " + writer.lastError());
        }
        return health.build();
    }
}
