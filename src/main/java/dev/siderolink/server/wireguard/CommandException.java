package dev.siderolink.server.wireguard;

import java.util.List;

/**
 * A system command that did not succeed. The message holds the command (argv holds no secrets:
 * those go on standard input), the exit code and what the command said on stderr.
 */
public class CommandException extends RuntimeException {

    public enum Kind {
        /** The binary is not installed. */
        NOT_FOUND,
        /** It ran longer than its timeout and was killed. */
        TIMEOUT,
        /** It exited non-zero. */
        FAILED
    }

    private final Kind kind;
    private final int exitCode;
    private final String stderr;

    public CommandException(Kind kind, List<String> argv, int exitCode, String stderr, String detail) {
        super(describe(argv) + ": " + detail);
        this.kind = kind;
        this.exitCode = exitCode;
        this.stderr = stderr == null ? "" : stderr;
    }

    private static String describe(List<String> argv) {
        // peer lists can be megabytes long: show the start of the command only
        String text = String.join(" ", argv);
        return text.length() > 200 ? text.substring(0, 200) + "... (" + argv.size() + " arguments)" : text;
    }

    public Kind kind() {
        return kind;
    }

    public int exitCode() {
        return exitCode;
    }

    public String stderr() {
        return stderr;
    }
}
