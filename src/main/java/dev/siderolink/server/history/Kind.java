package dev.siderolink.server.history;

/** What a history entry is; also the {@code kind} tag of the history's metrics. */
public enum Kind {
    EVENTS("events"),
    LOGS("logs");

    public final String tag;

    Kind(String tag) {
        this.tag = tag;
    }
}
