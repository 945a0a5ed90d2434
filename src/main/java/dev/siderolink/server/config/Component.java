package dev.siderolink.server.config;

import java.util.List;

/**
 * The parts of the server that {@code siderolink.components} can switch on, and the health
 * contributors each registers (the keys of {@code /actuator/health}'s components, bean name minus
 * {@code HealthIndicator}): the probe groups are derived from them ({@link ComponentDefaults}), so a
 * process only names contributors that exist in it.
 */
public enum Component {
    /** Provision API, WireGuard interface and peer reconciler. */
    LINK(List.of(Health.WIREGUARD, Health.PROVISION), List.of(Health.PEER_RECONCILER)),
    /** Kernel log receivers and the annotated server-log stream. */
    SERVERLOGS(List.of(Health.SERVERLOGS), List.of(Health.SERVERLOGS)),
    /** Talos event sink, event stream and status patcher. */
    SERVEREVENTS(List.of(Health.SERVEREVENTS), List.of(Health.SERVEREVENTS));

    private final List<String> readiness;
    private final List<String> liveness;

    Component(List<String> readiness, List<String> liveness) {
        this.readiness = readiness;
        this.liveness = liveness;
    }

    /** Contributors that must be UP before this component takes traffic (DOWN: not yet, or not now). */
    public List<String> readiness() {
        return readiness;
    }

    /** Contributors that are DOWN only when this component cannot recover without a restart. */
    public List<String> liveness() {
        return liveness;
    }

    /**
     * Health contributor names: the JSON keys operators read and the chart's probes depend on.
     * Each is registered as bean {@code <name>HealthIndicator} by the package that owns the thing.
     */
    public static final class Health {
        /** Every process: the resource store's cache is complete (inventory). */
        public static final String STORE = "store";
        /** link: the WireGuard interface exists and is up (wireguard). */
        public static final String WIREGUARD = "wireguard";
        /** link: the peer reconcile loop keeps finishing passes (wireguard). */
        public static final String PEER_RECONCILER = "peerReconciler";
        /** link: the Provision gRPC server is serving (provision). */
        public static final String PROVISION = "provision";
        /** serverlogs: both receivers listening, the output's writer alive (logs). */
        public static final String SERVERLOGS = "serverlogs";
        /** serverevents: the sink serving, the output's writer alive (events). */
        public static final String SERVEREVENTS = "serverevents";
        /** Spring Boot's own probe states (management.endpoint.health.probes.enabled). */
        public static final String READINESS_STATE = "readinessState";
        public static final String LIVENESS_STATE = "livenessState";

        private Health() {}
    }
}
