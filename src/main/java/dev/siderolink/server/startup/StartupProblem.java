package dev.siderolink.server.startup;

/** A configuration problem found at start-up: what is wrong, and what the operator should do. */
public class StartupProblem extends RuntimeException {

    private final String action;

    public StartupProblem(String description, String action) {
        this(description, action, null);
    }

    public StartupProblem(String description, String action, Throwable cause) {
        super(description, cause);
        this.action = action;
    }

    public String action() {
        return action;
    }
}
