package dev.siderolink.server.events;

import dev.siderolink.server.output.LineChunk;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The serverevents meters (listed in docs/events.md). Tags: event type and failure reason only. */
final class EventMetrics {

    static final String RECEIVED = "siderolink.events.received";
    static final String WRITTEN = "siderolink.events.written";
    static final String STATUS_UPDATES = "siderolink.events.status.updates";
    static final String FAILURES = "siderolink.events.failures";
    static final String REPLAYS = "siderolink.events.replays";
    static final String LATENCY = "siderolink.events.status.latency";
    static final String UNKNOWN_TYPE_TAG = "unknown";

    /** Why an event was not (fully) applied. */
    enum Failure {
        /** The type URL names no Talos event type: answered OK, logged. */
        UNKNOWN_TYPE("unknown-type", false),
        /** A known type whose bytes do not decode: answered OK, logged. */
        UNDECODABLE("undecodable", false),
        /** The state store failed or kept conflicting: answered UNAVAILABLE, the node replays. */
        STORE_UNAVAILABLE("store-unavailable", true),
        /** The sender's address has no binding yet (just provisioned?): answered UNAVAILABLE during the grace period. */
        UNBOUND_NODE_RETRY("unbound-node-retry", true),
        /** The sender has no binding for longer than the grace period, or is outside the prefix: answered OK, logged. */
        UNBOUND_NODE("unbound-node", false),
        /** The binding was deleted while the event was applied: answered OK. */
        BINDING_NOT_FOUND("binding-not-found", false),
        /** The binding's MetalMachine does not exist: the binding is updated, the mirror skipped. */
        METALMACHINE_NOT_FOUND("metalmachine-not-found", false),
        /** A bug: answered UNAVAILABLE (the node retries with backoff), logged with its stack trace. */
        INTERNAL("internal", true);

        final String tag;
        final boolean retried;

        Failure(String tag, boolean retried) {
            this.tag = tag;
            this.retried = retried;
        }
    }

    private final Map<TalosEvent.Kind, Counter> received = new EnumMap<>(TalosEvent.Kind.class);
    private final Counter receivedUnknown;
    private final Map<Failure, Counter> failures = new EnumMap<>(Failure.class);
    private final Counter updates;
    private final Counter replays;
    private final Counter written;
    private final Counter writeFailed;
    private final Timer latency;
    private final LineChunk.Stream stream;
    private volatile long lastEventMillis;

    EventMetrics(MeterRegistry registry) {
        for (TalosEvent.Kind kind : TalosEvent.Kind.values()) {
            received.put(kind, Counter.builder(RECEIVED).description("Talos events published to the sink, by payload type")
                    .tag("type", kind.tag()).register(registry));
        }
        receivedUnknown = Counter.builder(RECEIVED).description("Talos events published to the sink, by payload type")
                .tag("type", UNKNOWN_TYPE_TAG).register(registry);
        for (Failure failure : Failure.values()) {
            failures.put(failure, Counter.builder(FAILURES).description("Events not (fully) applied, by reason")
                    .tag("reason", failure.tag).register(registry));
        }
        updates = Counter.builder(STATUS_UPDATES).description("Status updates of ServerBindings (each applies one or more events)").register(registry);
        replays = Counter.builder(REPLAYS).description("Events recognised as already applied (Talos re-sent them) and skipped").register(registry);
        written = Counter.builder(WRITTEN).description("Event lines written to siderolink.events.output").register(registry);
        writeFailed = Counter.builder(FAILURES).description("Events not (fully) applied, by reason").tag("reason", "output-error").register(registry);
        latency = Timer.builder(LATENCY)
                .description("Time from Publish to the event's status update being stored (ServerBinding and MetalMachine)")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
        stream = new LineChunk.Stream() {
            @Override
            public void written(int lines, int bytes) {
                written.increment(lines);
            }

            @Override
            public void failed(int lines) {
                writeFailed.increment(lines);
            }
        };
    }

    void received(TalosEvent event) {
        (event.kind() == null ? receivedUnknown : received.get(event.kind())).increment();
        lastEventMillis = System.currentTimeMillis();
    }

    void failed(Failure failure) {
        failures.get(failure).increment();
    }

    void patched(int events) {
        updates.increment();
    }

    void applied(long nanos) {
        latency.record(nanos, TimeUnit.NANOSECONDS);
    }

    void replayed() {
        replays.increment();
    }

    LineChunk.Stream stream() {
        return stream;
    }

    // ---- for health ----

    /** When an event was last published to the sink; null before the first. */
    java.time.Instant lastEvent() {
        long millis = lastEventMillis;
        return millis == 0 ? null : java.time.Instant.ofEpochMilli(millis);
    }

    long receivedCount() {
        return (long) (receivedUnknown.count() + received.values().stream().mapToDouble(Counter::count).sum());
    }

    long writtenCount() {
        return (long) written.count();
    }

    long statusUpdateCount() {
        return (long) updates.count();
    }

    long replayCount() {
        return (long) replays.count();
    }

    /** Events not (fully) applied so far, by reason; reasons that happened only. */
    Map<String, Long> failuresByReason() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        failures.forEach((failure, counter) -> {
            if (counter.count() > 0) {
                counts.put(failure.tag, (long) counter.count());
            }
        });
        if (writeFailed.count() > 0) {
            counts.put("output-error", (long) writeFailed.count());
        }
        return counts;
    }
}
