package dev.siderolink.server.history;

import dev.siderolink.server.config.HistoryProperties;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import reactor.core.Disposable;
import reactor.core.publisher.BufferOverflowStrategy;
import reactor.core.publisher.ConnectableFlux;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * Every server's recent events and kernel log lines, in memory.
 *
 * <p>Each server has two deques (events, log lines) under one short lock: recording appends at the
 * tail and, past the per-server count ({@code siderolink.history.events-per-server},
 * {@code log-lines-per-server}), removes the head; O(1). All servers together stay within
 * {@code siderolink.history.max-bytes}: when a record takes the total over it, the recording thread
 * (one at a time; the others go on) trims the largest histories, oldest entries first, until the
 * total is 1/32 under the budget. The trim computes one level L (water-filling over the servers
 * sorted by size) such that cutting every history above L down to L frees enough, so small
 * histories are never touched while a larger one holds more, and the pass runs once per 1/32 of
 * the budget recorded, not once per entry.
 *
 * <p>Followers get entries through a hot, best-effort multicast: each has its own bounded buffer
 * ({@code siderolink.history.subscriber-buffer}); when it is full, new entries are dropped for
 * that follower only and counted ({@code siderolink_history_subscriber_dropped_total}), so a slow
 * reader never slows recording.
 */
public final class ServerHistories implements EventHistory, LogHistory {

    static final String EVICTED = "siderolink.history.evicted";
    static final String DROPPED = "siderolink.history.subscriber.dropped";
    static final String MEMORY = "siderolink.history.memory";
    static final String ENTRIES = "siderolink.history.entries";
    static final String SERVERS = "siderolink.history.servers";

    /** Why an entry left the history. */
    enum Reason {
        COUNT("count"),
        BUDGET("budget");

        final String tag;

        Reason(String tag) {
            this.tag = tag;
        }
    }

    /** One server's history; its deques and sizes are guarded by the instance's monitor. */
    private static final class Server {
        final String uuid;
        final ArrayDeque<Entry> events = new ArrayDeque<>();
        final ArrayDeque<Entry> logs = new ArrayDeque<>();
        volatile long bytes;
        boolean removed;

        Server(String uuid) {
            this.uuid = uuid;
        }

        ArrayDeque<Entry> of(Kind kind) {
            return kind == Kind.EVENTS ? events : logs;
        }
    }

    private final HistoryProperties properties;
    private final long maxBytes;
    private final long lowWater;
    private final Map<String, Server> servers = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private final Map<Kind, AtomicLong> entries = new EnumMap<>(Kind.class);
    private final Map<Kind, Map<Reason, Counter>> evicted = new EnumMap<>(Kind.class);
    private final Map<Kind, Counter> dropped = new EnumMap<>(Kind.class);
    private final Map<Kind, Sinks.Many<Entry>> live = new EnumMap<>(Kind.class);
    private final ReentrantLock trimming = new ReentrantLock();

    public ServerHistories(HistoryProperties properties, MeterRegistry registry) {
        this.properties = properties;
        this.maxBytes = properties.maxBytes().toBytes();
        this.lowWater = maxBytes - maxBytes / 32;
        Gauge.builder(MEMORY, bytes, AtomicLong::get).baseUnit("bytes")
                .description("Bytes the per-server histories hold (estimated), at most siderolink.history.max-bytes").register(registry);
        Gauge.builder(SERVERS, servers, Map::size).description("Servers with a history").register(registry);
        for (Kind kind : Kind.values()) {
            AtomicLong count = new AtomicLong();
            entries.put(kind, count);
            Gauge.builder(ENTRIES, count, AtomicLong::get).tag("kind", kind.tag).description("Entries the per-server histories hold")
                    .register(registry);
            Map<Reason, Counter> byReason = new EnumMap<>(Reason.class);
            for (Reason reason : Reason.values()) {
                byReason.put(reason, Counter.builder(EVICTED).tag("kind", kind.tag).tag("reason", reason.tag)
                        .description("Entries removed from the histories: count (per-server limit) or budget (siderolink.history.max-bytes)")
                        .register(registry));
            }
            evicted.put(kind, byReason);
            dropped.put(kind, Counter.builder(DROPPED).tag("kind", kind.tag)
                    .description("Entries a follower did not get because it read slower than they arrived").register(registry));
            live.put(kind, Sinks.many().multicast().directBestEffort());
        }
    }

    // ---- recording (called by the pipelines) ----

    /** Records one accepted event with the line the event stream printed for it. */
    public void record(RecordedEvent event, byte[] line) {
        append(Kind.EVENTS, event.serverUuid(), new Entry[] {new Entry(event.serverUuid(), 0, line, event)}, 1);
    }

    @Override
    public void recordLines(String serverUuid, byte[] lines, int length) {
        if (serverUuid == null || length == 0) {
            return;
        }
        int count = 0;
        for (int i = 0; i < length; i++) {
            if (lines[i] == '\n') {
                count++;
            }
        }
        Entry[] batch = new Entry[count];
        int start = 0;
        int n = 0;
        for (int i = 0; i < length; i++) {
            if (lines[i] == '\n') {
                batch[n++] = new Entry(serverUuid, 0, Arrays.copyOfRange(lines, start, i + 1), null);
                start = i + 1;
            }
        }
        append(Kind.LOGS, serverUuid, batch, n);
    }

    private void append(Kind kind, String uuid, Entry[] batch, int n) {
        if (uuid == null || n == 0) {
            return;
        }
        int limit = kind == Kind.EVENTS ? properties.eventsPerServer() : properties.logLinesPerServer();
        Sinks.Many<Entry> sink = live.get(kind);
        long added = 0;
        long removedBytes = 0;
        int removedCount = 0;
        while (true) {
            Server server = servers.computeIfAbsent(uuid, Server::new);
            synchronized (server) {
                if (server.removed) {
                    continue; // forgotten meanwhile: a new binding with the same name starts afresh
                }
                ArrayDeque<Entry> deque = server.of(kind);
                // Looked at under the server's lock: a follower that subscribed before a reader's snapshot (taken under this lock) gets the entry.
                boolean followed = sink.currentSubscriberCount() > 0;
                for (int i = 0; i < n; i++) {
                    Entry entry = new Entry(uuid, seq.incrementAndGet(), batch[i].line(), batch[i].event());
                    if (limit > 0) {
                        deque.addLast(entry);
                        added += entry.weight();
                    }
                    if (followed) {
                        synchronized (sink) {
                            sink.tryEmitNext(entry); // best effort: never waits
                        }
                    }
                }
                while (deque.size() > limit) {
                    removedBytes += deque.removeFirst().weight();
                    removedCount++;
                }
                server.bytes += added - removedBytes;
            }
            break;
        }
        entries.get(kind).addAndGet((limit > 0 ? n : 0) - removedCount);
        if (removedCount > 0) {
            evicted.get(kind).get(Reason.COUNT).increment(removedCount);
        }
        if (bytes.addAndGet(added - removedBytes) > maxBytes) {
            trim();
        }
    }

    /** Brings the total under the low-water mark, largest histories first; one thread at a time, the others do not wait. */
    private void trim() {
        while (bytes.get() > maxBytes && trimming.tryLock()) {
            try {
                while (bytes.get() > lowWater) {
                    if (!trimOnce(bytes.get() - lowWater)) {
                        return;
                    }
                }
            } finally {
                trimming.unlock();
            }
        }
    }

    private boolean trimOnce(long needed) {
        // Sizes change while we look: sort a snapshot of them, not the live values.
        record Sized(Server server, long bytes) {}
        List<Sized> bySize = new ArrayList<>(servers.size());
        for (Server server : servers.values()) {
            bySize.add(new Sized(server, server.bytes));
        }
        bySize.sort(Comparator.comparingLong(Sized::bytes).reversed());
        long[] sizes = new long[bySize.size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] = bySize.get(i).bytes();
        }
        // Water-filling: the highest level L where cutting every history above L down to L frees `needed`.
        long level = 0;
        long prefix = 0;
        for (int k = 1; k <= sizes.length; k++) {
            prefix += sizes[k - 1];
            long candidate = (prefix - needed) / k;
            long next = k < sizes.length ? sizes[k] : 0;
            if (candidate >= next) {
                level = Math.max(0, candidate);
                break;
            }
        }
        boolean any = false;
        for (Sized sized : bySize) {
            if (sized.bytes() <= level) {
                break;
            }
            any |= cut(sized.server(), level);
        }
        return any;
    }

    /** Removes the server's oldest entries (of either kind) until it holds at most {@code level} bytes. */
    private boolean cut(Server server, long level) {
        long[] freed = new long[Kind.values().length];
        int[] count = new int[Kind.values().length];
        synchronized (server) {
            while (server.bytes > level) {
                Entry e = server.events.peekFirst();
                Entry l = server.logs.peekFirst();
                Kind kind = e == null ? Kind.LOGS : l == null ? Kind.EVENTS : e.seq() < l.seq() ? Kind.EVENTS : Kind.LOGS;
                Entry gone = server.of(kind).pollFirst();
                if (gone == null) {
                    break;
                }
                long w = gone.weight();
                server.bytes -= w;
                freed[kind.ordinal()] += w;
                count[kind.ordinal()]++;
            }
        }
        boolean any = false;
        for (Kind kind : Kind.values()) {
            if (count[kind.ordinal()] > 0) {
                any = true;
                bytes.addAndGet(-freed[kind.ordinal()]);
                entries.get(kind).addAndGet(-count[kind.ordinal()]);
                evicted.get(kind).get(Reason.BUDGET).increment(count[kind.ordinal()]);
            }
        }
        return any;
    }

    /** Drops a server's history (its ServerBinding was deleted). */
    public void forget(String uuid) {
        Server server = servers.remove(uuid);
        if (server == null) {
            return;
        }
        synchronized (server) {
            server.removed = true;
            bytes.addAndGet(-server.bytes);
            entries.get(Kind.EVENTS).addAndGet(-server.events.size());
            entries.get(Kind.LOGS).addAndGet(-server.logs.size());
            server.bytes = 0;
            server.events.clear();
            server.logs.clear();
        }
    }

    // ---- reading ----

    /** The last {@code tail} entries of one kind of one server (all when tail is negative), oldest first. */
    public List<Entry> entries(Kind kind, String uuid, int tail) {
        Server server = servers.get(uuid);
        if (server == null) {
            return List.of();
        }
        synchronized (server) {
            ArrayDeque<Entry> deque = server.of(kind);
            int take = tail < 0 ? deque.size() : Math.min(tail, deque.size());
            Entry[] result = new Entry[take];
            Iterator<Entry> newestFirst = deque.descendingIterator();
            for (int i = take - 1; i >= 0; i--) {
                result[i] = newestFirst.next();
            }
            return Arrays.asList(result);
        }
    }

    /**
     * The last {@code tail} entries (all when negative) and, when {@code follow}, every entry of
     * that server recorded afterwards, without a gap or a repeat between the two. A follower that
     * reads slower than entries arrive loses entries (counted), never holds up recording.
     */
    public Flux<Entry> read(Kind kind, String uuid, int tail, boolean follow) {
        if (!follow) {
            return Flux.defer(() -> Flux.fromIterable(entries(kind, uuid, tail)));
        }
        return Flux.defer(() -> {
            // Subscribe to live entries first, then take the stored ones: an entry recorded in between is in both and is skipped once.
            ConnectableFlux<Entry> early = liveEntries(kind, uuid).publish(properties.subscriberBuffer());
            Disposable connection = early.connect();
            List<Entry> past = entries(kind, uuid, tail);
            long last = past.isEmpty() ? Long.MIN_VALUE : past.get(past.size() - 1).seq();
            return Flux.fromIterable(past)
                    .concatWith(early.filter(e -> e.seq() > last))
                    .doFinally(signal -> connection.dispose());
        });
    }

    /** Entries of one kind as they are recorded (one server's, or all when uuid is null): bounded per subscriber, drops counted. */
    Flux<Entry> liveEntries(Kind kind, String uuid) {
        Counter drops = dropped.get(kind);
        return live.get(kind).asFlux()
                .filter(e -> uuid == null || uuid.equals(e.serverUuid()))
                .onBackpressureBuffer(properties.subscriberBuffer(), e -> drops.increment(), BufferOverflowStrategy.DROP_LATEST)
                .publishOn(Schedulers.parallel(), 64);
    }

    /** Whether a server has any history. */
    public boolean knows(String uuid) {
        return servers.containsKey(uuid);
    }

    /** Bytes held now (the {@code siderolink_history_memory_bytes} gauge). */
    public long bytes() {
        return bytes.get();
    }

    /** Bytes one server's history holds now. */
    public long bytes(String uuid) {
        Server server = servers.get(uuid);
        return server == null ? 0 : server.bytes;
    }

    // ---- EventHistory ----

    @Override
    public List<RecordedEvent> events(String serverUuid) {
        return entries(Kind.EVENTS, serverUuid, -1).stream().map(Entry::event).toList();
    }

    @Override
    public List<RecordedEvent> all() {
        List<Entry> merged = new ArrayList<>();
        for (String uuid : servers.keySet()) {
            merged.addAll(entries(Kind.EVENTS, uuid, -1));
        }
        merged.sort(Comparator.comparingLong(Entry::seq));
        return merged.stream().map(Entry::event).toList();
    }

    @Override
    public Flux<RecordedEvent> live() {
        return liveEntries(Kind.EVENTS, null).map(Entry::event);
    }
}
