package dev.siderolink.server.config;

/** The parts of the server that {@code siderolink.components} can switch on. */
public enum Component {
    /** Provision API, WireGuard interface and peer reconciler. */
    LINK,
    /** Kernel log receivers and the annotated server-log stream. */
    SERVERLOGS,
    /** Talos event sink, event stream and status patcher. */
    SERVEREVENTS
}
