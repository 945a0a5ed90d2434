package dev.siderolink.server.logs;

import dev.siderolink.server.inventory.BindingEvent;
import dev.siderolink.server.inventory.Change;
import dev.siderolink.server.output.LineChunk;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Set;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;

/**
 * The serverlogs counters (listed in docs/logs.md). Tags are
 * low-cardinality: transport and reason; the per-server counter has one series per ServerBinding
 * and is removed when its binding is deleted.
 */
final class LogMetrics implements AutoCloseable {

    static final String RECEIVED = "siderolink.logs.received";
    static final String RECEIVED_BYTES = "siderolink.logs.received.bytes";
    static final String WRITTEN = "siderolink.logs.written";
    static final String DROPPED = "siderolink.logs.dropped";
    static final String CONNECTIONS = "siderolink.logs.tcp.connections";
    static final String REFUSED = "siderolink.logs.tcp.connections.refused";
    static final String PER_SERVER = "siderolink.logs.server.messages";

    enum Transport {
        TCP(EnumSet.of(Drop.MALFORMED, Drop.OVERSIZE, Drop.TRUNCATED, Drop.OUTPUT_ERROR)),
        UDP(EnumSet.of(Drop.MALFORMED, Drop.OVERSIZE, Drop.UNKNOWN_SOURCE, Drop.OVERLOAD, Drop.OUTPUT_ERROR));

        final String tag = name().toLowerCase(Locale.ROOT);
        /** The reasons that can happen on this transport (only those get a time series). */
        final Set<Drop> drops;

        Transport(Set<Drop> drops) {
            this.drops = drops;
        }
    }

    /** Why a message was not written. */
    enum Drop {
        /** Not one JSON object. */
        MALFORMED("malformed"),
        /** Longer than siderolink.logs.max-message-size. */
        OVERSIZE("oversize"),
        /** From an address outside the SideroLink prefix (UDP; TCP connections are refused instead). */
        UNKNOWN_SOURCE("unknown-source"),
        /** The output queue was full (UDP only: TCP waits instead). */
        OVERLOAD("overload"),
        /** A TCP line without its newline when the connection closed. */
        TRUNCATED("truncated"),
        /** The output could not be written. */
        OUTPUT_ERROR("output-error");

        final String tag;

        Drop(String tag) {
            this.tag = tag;
        }
    }

    private final MeterRegistry registry;
    private final boolean perServer;
    private final Map<Transport, Counter> received = new EnumMap<>(Transport.class);
    private final Map<Transport, Counter> receivedBytes = new EnumMap<>(Transport.class);
    private final Map<Transport, Counter> written = new EnumMap<>(Transport.class);
    private final Map<Transport, Map<Drop, Counter>> dropped = new EnumMap<>(Transport.class);
    private final Map<Transport, LineChunk.Stream> streams = new EnumMap<>(Transport.class);
    private final Map<String, Counter> perServerCounters = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private volatile long lastAcceptedMillis;
    private final Counter refused;
    private final Disposable bindingDeletions;

    LogMetrics(MeterRegistry registry, boolean perServer, Flux<BindingEvent> bindingEvents) {
        this.registry = registry;
        this.perServer = perServer;
        for (Transport transport : Transport.values()) {
            received.put(transport, Counter.builder(RECEIVED).description("Kernel log messages received").tag("transport", transport.tag).register(registry));
            receivedBytes.put(transport, Counter.builder(RECEIVED_BYTES).baseUnit("bytes").description("Kernel log bytes received")
                    .tag("transport", transport.tag).register(registry));
            written.put(transport, Counter.builder(WRITTEN).description("Annotated kernel log lines written to siderolink.logs.output")
                    .tag("transport", transport.tag).register(registry));
            Map<Drop, Counter> byReason = new EnumMap<>(Drop.class);
            for (Drop drop : transport.drops) {
                byReason.put(drop, Counter.builder(DROPPED).description("Kernel log messages not written, by reason")
                        .tag("transport", transport.tag).tag("reason", drop.tag).register(registry));
            }
            dropped.put(transport, byReason);
            Counter writtenCounter = written.get(transport);
            Counter outputErrors = byReason.get(Drop.OUTPUT_ERROR);
            streams.put(transport, new LineChunk.Stream() {
                @Override
                public void written(int lines, int bytes) {
                    writtenCounter.increment(lines);
                }

                @Override
                public void failed(int lines) {
                    outputErrors.increment(lines);
                }
            });
        }
        Gauge.builder(CONNECTIONS, connections, AtomicInteger::get).description("Open kernel log TCP connections").register(registry);
        refused = Counter.builder(REFUSED).description("TCP connections refused because they came from outside the SideroLink prefix")
                .tag("reason", Drop.UNKNOWN_SOURCE.tag).register(registry);
        bindingDeletions = bindingEvents.filter(e -> e.type() == Change.DELETED).subscribe(e -> forgetServer(e.binding().uuid()));
    }

    void received(Transport transport, int messages, long bytes) {
        if (messages > 0) {
            received.get(transport).increment(messages);
        }
        receivedBytes.get(transport).increment(bytes);
    }

    void dropped(Transport transport, Drop reason, int messages) {
        if (messages > 0) {
            dropped.get(transport).get(reason).increment(messages);
        }
    }

    void accepted(String serverUuid, int messages) {
        if (messages > 0) {
            lastAcceptedMillis = System.currentTimeMillis();
        }
        if (perServer && serverUuid != null && messages > 0) {
            perServerCounters.computeIfAbsent(serverUuid, uuid -> Counter.builder(PER_SERVER)
                    .description("Kernel log messages accepted from this server")
                    .tag("server_uuid", uuid)
                    .register(registry)).increment(messages);
        }
    }

    private void forgetServer(String uuid) {
        Counter counter = perServerCounters.remove(uuid);
        if (counter != null) {
            registry.remove(counter);
        }
    }

    /** Told to the output writer with each chunk, so lines count as written only once they are. */
    LineChunk.Stream stream(Transport transport) {
        return streams.get(transport);
    }

    void connectionOpened() {
        connections.incrementAndGet();
    }

    void connectionClosed() {
        connections.decrementAndGet();
    }

    int openConnections() {
        return connections.get();
    }

    void connectionRefused() {
        refused.increment();
    }

    /** When a message was last accepted for the output; null before the first. For health. */
    java.time.Instant lastAccepted() {
        long millis = lastAcceptedMillis;
        return millis == 0 ? null : java.time.Instant.ofEpochMilli(millis);
    }

    long receivedCount(Transport transport) {
        return (long) received.get(transport).count();
    }

    long writtenCount() {
        return (long) written.values().stream().mapToDouble(Counter::count).sum();
    }

    /** Messages dropped so far by reason over both transports, reasons that happened only (the kernel's receive-buffer drops are the receiver's). */
    Map<String, Long> droppedByReason() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        dropped.values().forEach(byReason -> byReason.forEach((drop, counter) -> {
            if (counter.count() > 0) {
                counts.merge(drop.tag, (long) counter.count(), Long::sum);
            }
        }));
        return counts;
    }

    @Override
    public void close() {
        bindingDeletions.dispose();
    }
}
