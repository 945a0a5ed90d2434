package dev.siderolink.server.startup;

import java.net.BindException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.core.env.Environment;

/**
 * A listener could not bind: names the port and the property that sets it. gRPC's Netty
 * transports say "Failed to bind to address host:port" and, with the native epoll transport, the
 * cause is a {@code NativeIoException} ("Address already in use"), not a {@link BindException}:
 * so the cause chain is matched by message as well as by type.
 */
class PortInUseFailureAnalyzer implements FailureAnalyzer {

    private static final Pattern BIND_ADDRESS = Pattern.compile("Failed to bind to address \\S*:(\\d{1,5})");
    private static final Map<String, String> PORT_PROPERTIES = new LinkedHashMap<>();

    static {
        PORT_PROPERTIES.put("siderolink.api.port", "the Provision API");
        PORT_PROPERTIES.put("siderolink.logs.port", "the kernel log receiver");
        PORT_PROPERTIES.put("siderolink.events.port", "the event sink");
        PORT_PROPERTIES.put("siderolink.talos-api.port", "the Talos API for talosctl events");
        PORT_PROPERTIES.put("server.port", "the HTTP server (Actuator and API)");
    }

    private final Environment environment;

    /** Spring Boot passes the environment to failure analyzers through the constructor. */
    PortInUseFailureAnalyzer(Environment environment) {
        this.environment = environment;
    }

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        Integer port = null;
        Throwable bindFailure = null;
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = t.getMessage() == null ? "" : t.getMessage();
            Matcher m = BIND_ADDRESS.matcher(message);
            if (port == null && m.find()) {
                port = Integer.valueOf(m.group(1));
            }
            if (t instanceof BindException || message.contains("Address already in use") || message.contains("Cannot assign requested address")) {
                bindFailure = t;
            }
        }
        if (bindFailure == null) {
            return null;
        }
        String what = port == null ? "A port this server listens on" : "Port " + port + describe(port);
        return new FailureAnalysis(what + " cannot be bound: " + bindFailure.getMessage() + ".",
                "Stop the process that holds the port, or give this server another port with the property named above.", bindFailure);
    }

    private String describe(int port) {
        if (environment == null) {
            return "";
        }
        for (Map.Entry<String, String> e : PORT_PROPERTIES.entrySet()) {
            Integer configured = environment.getProperty(e.getKey(), Integer.class);
            if (configured != null && configured == port) {
                return " (" + e.getKey() + ", " + e.getValue() + ")";
            }
        }
        return "";
    }
}
