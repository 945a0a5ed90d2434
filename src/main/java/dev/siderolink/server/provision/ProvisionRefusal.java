package dev.siderolink.server.provision;

import io.grpc.Status;

/**
 * A Provision call answered with an error. {@code message} goes to the node (no secrets);
 * {@code reason} is what the operator reads in the log.
 */
public class ProvisionRefusal extends RuntimeException {

    private final Status.Code code;
    private final String reason;

    public ProvisionRefusal(Status.Code code, String message, String reason) {
        super(message, null, false, false);
        this.code = code;
        this.reason = reason;
    }

    public Status.Code code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    public Status toStatus() {
        return Status.fromCode(code).withDescription(getMessage());
    }
}
