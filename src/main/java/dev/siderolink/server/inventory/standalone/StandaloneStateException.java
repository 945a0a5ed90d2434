package dev.siderolink.server.inventory.standalone;

/** The state directory cannot be used; the message says what to fix. */
public class StandaloneStateException extends RuntimeException {
    public StandaloneStateException(String message, Throwable cause) {
        super(message, cause);
    }
}
