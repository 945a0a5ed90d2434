package dev.siderolink.server.events;

import dev.siderolink.server.grpc.PeerAddress;
import dev.siderolink.server.output.LineWriter;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * serverevents, in both probe groups: UP while the sink is serving and the output's writer thread
 * runs. The sink starts before the HTTP server (or start-up fails) and never restarts by itself, so
 * DOWN means this process can no longer take or write events until it is restarted. A failing
 * output is not DOWN (see the serverlogs indicator): {@code outputProblem} and
 * {@code siderolink_events_failures_total{reason="output-error"}} show it. Details: what the sink
 * has seen (last event, counts, failures by reason).
 */
final class EventsHealthIndicator implements HealthIndicator {

    private final EventSinkServer server;
    private final LineWriter writer;
    private final EventMetrics metrics;

    EventsHealthIndicator(EventSinkServer server, LineWriter writer, EventMetrics metrics) {
        this.server = server;
        this.writer = writer;
        this.metrics = metrics;
    }

    @Override
    public Health health() {
        boolean serving = server.isServing();
        Health.Builder health;
        if (!serving) {
            health = Health.down().withDetail("reason", "the event sink is not serving");
        } else if (writer.isDead()) {
            health = Health.down().withDetail("reason", "the output's writer thread has stopped: no line is written any more");
        } else {
            health = Health.up();
        }
        Instant last = metrics.lastEvent();
        health.withDetail("grpc", serving ? PeerAddress.format(new InetSocketAddress(server.address(), server.boundPort())) : "not listening")
                .withDetail("lastEvent", last == null ? "never" : last.toString())
                .withDetail("received", metrics.receivedCount())
                .withDetail("written", metrics.writtenCount())
                .withDetail("statusUpdates", metrics.statusUpdateCount())
                .withDetail("replays", metrics.replayCount())
                .withDetail("failures", metrics.failuresByReason())
                .withDetail("output", writer.name())
                .withDetail("outputQueuedBytes", writer.queuedBytes());
        String problem = writer.problem();
        if (problem != null) {
            health.withDetail("outputProblem", problem);
        }
        return health.build();
    }
}
