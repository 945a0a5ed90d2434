package dev.siderolink.server.history;

/** Where the kernel log receivers hand each server's annotated lines, after annotation. */
public interface LogHistory {

    /** Keeps nothing: for a process or a test without a history. */
    LogHistory NONE = (serverUuid, lines, length) -> {};

    /**
     * Records {@code lines[0, length)}: whole annotated lines, each ending in {@code \n}, all from
     * server {@code serverUuid}. Copies what it keeps; never blocks.
     */
    void recordLines(String serverUuid, byte[] lines, int length);
}
