package dev.siderolink.server.wireguard;

import java.time.Duration;
import java.util.List;

/**
 * Runs one system command: an argv list (no shell), optional standard input (where secrets go:
 * never on the command line, never in a log), a timeout. The seam unit tests replace.
 */
public interface WgCommands {

    Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Runs {@code argv} and returns its output when it exits 0.
     *
     * @throws CommandException when the binary is missing, the command fails, or it outlives the timeout
     */
    Result run(List<String> argv, String stdin, Duration timeout);

    default Result run(List<String> argv) {
        return run(argv, null, DEFAULT_TIMEOUT);
    }

    /**
     * Starts a long-running process (wireguard-go in the foreground) with extra environment
     * variables; its output is discarded. The caller owns the process.
     *
     * @throws CommandException when the binary is missing
     */
    Process spawn(List<String> argv, java.util.Map<String, String> environment);

    /** What a command printed. */
    record Result(String stdout, String stderr) {}
}
