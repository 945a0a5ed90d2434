package dev.siderolink.server.output;

/** A stream's output file cannot be opened. */
public class OutputUnavailableException extends RuntimeException {
    public OutputUnavailableException(String target, Exception cause) {
        super("cannot open " + target + " for appending (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")", cause);
    }
}
