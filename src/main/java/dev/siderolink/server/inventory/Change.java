package dev.siderolink.server.inventory;

/** What happened to a cached resource. */
public enum Change {
    ADDED,
    MODIFIED,
    DELETED
}
