package dev.siderolink.server.inventory;

/** The store could not answer now (API down, too many conflicts, disk error); worth retrying later. */
public class StoreUnavailableException extends RuntimeException {
    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
