package dev.siderolink.server.provision;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/** Provision counters; the outcome tag is the gRPC status code name, so cardinality is fixed. */
public final class ProvisionMetrics {

    public static final String REQUESTS = "siderolink.provision.requests";
    public static final String DURATION = "siderolink.provision.duration";
    public static final String ADDRESSES_ASSIGNED = "siderolink.provision.addresses.assigned";
    public static final String KEYS_CHANGED = "siderolink.provision.keys.changed";
    public static final String REFUSALS = "siderolink.provision.refusals";

    /**
     * Why a Provision call was refused, beyond its status code: the {@code reason} tag of
     * {@link #REFUSALS}. A fixed set, so the series count stays fixed.
     */
    public enum Refusal {
        /** another binding holds the public key */
        KEY_IN_USE("key-in-use"),
        /** an all-zero or other low-order Curve25519 point */
        WEAK_KEY("weak-key"),
        /** the server's own public key offered as a node key */
        SERVER_KEY("server-key"),
        /** a unique token other than the one bound to the server */
        UNIQUE_TOKEN_MISMATCH("unique-token-mismatch"),
        /** no join token, or a wrong one */
        JOIN_TOKEN("join-token"),
        /** the source address sent wrong join tokens and is waiting out its slow-down */
        JOIN_TOKEN_BACKOFF("join-token-backoff"),
        /** the source address is over its Provision rate */
        RATE_LIMITED("rate-limited"),
        /** auto-accept would create more bindings than allowed */
        AUTO_ACCEPT_LIMIT("auto-accept-limit");

        public final String tag;

        Refusal(String tag) {
            this.tag = tag;
        }
    }

    private final Map<Status.Code, Counter> requests = new EnumMap<>(Status.Code.class);
    private final Map<Status.Code, Timer> durations = new EnumMap<>(Status.Code.class);
    private final Map<Refusal, Counter> refusals = new EnumMap<>(Refusal.class);
    private final Counter addressesAssigned;
    private final Counter keysChanged;
    private volatile long lastProvisionedMillis;

    public ProvisionMetrics(MeterRegistry registry) {
        for (Status.Code code : Status.Code.values()) {
            String outcome = code.name().toLowerCase(Locale.ROOT);
            requests.put(code, Counter.builder(REQUESTS).tag("outcome", outcome)
                    .description("Provision calls by outcome (gRPC status)").register(registry));
            durations.put(code, Timer.builder(DURATION).tag("outcome", outcome)
                    .description("Provision call handling time").register(registry));
        }
        for (Refusal refusal : Refusal.values()) {
            refusals.put(refusal, Counter.builder(REFUSALS).tag("reason", refusal.tag)
                    .description("Provision calls refused, by reason").register(registry));
        }
        addressesAssigned = Counter.builder(ADDRESSES_ASSIGNED)
                .description("New tunnel addresses given to servers that had none").register(registry);
        keysChanged = Counter.builder(KEYS_CHANGED)
                .description("Provision calls that replaced a server's stored public key (a reboot, usually)").register(registry);
    }

    void record(Status.Code code, long nanos) {
        requests.get(code).increment();
        durations.get(code).record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        if (code == Status.Code.OK) {
            lastProvisionedMillis = System.currentTimeMillis();
        }
    }

    /** Calls so far by outcome (the {@code outcome} tag), outcomes that happened only. */
    Map<String, Long> requestsByOutcome() {
        Map<String, Long> counts = new java.util.TreeMap<>();
        requests.forEach((code, counter) -> {
            if (counter.count() > 0) {
                counts.put(code.name().toLowerCase(Locale.ROOT), (long) counter.count());
            }
        });
        return counts;
    }

    /** When a Provision call last succeeded; null before the first. */
    java.time.Instant lastProvisioned() {
        long millis = lastProvisionedMillis;
        return millis == 0 ? null : java.time.Instant.ofEpochMilli(millis);
    }

    /** Counts a refusal by its reason (its status code is counted by {@link #record}). */
    public void refused(Refusal reason) {
        refusals.get(reason).increment();
    }

    void addressAssigned() {
        addressesAssigned.increment();
    }

    void keyChanged() {
        keysChanged.increment();
    }
}
