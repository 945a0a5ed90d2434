package dev.siderolink.server.installation;

/** A text that is not a WireGuard key; the message says what is wrong, never echoes a secret. */
public class InvalidKeyException extends IllegalArgumentException {
    public InvalidKeyException(String message) {
        super(message);
    }
}
