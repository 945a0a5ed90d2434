package dev.siderolink.server.startup;

import java.net.BindException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;

/**
 * A listener could not bind: names the port and the property that sets it. Netty reports the
 * address as "Failed to bind to address host:port", with the {@link BindException} as cause.
 */
class PortInUseFailureAnalyzer extends AbstractFailureAnalyzer<BindException> implements EnvironmentAware {

    private static final Pattern PORT = Pattern.compile(":(\\d{1,5})\\b(?!.*:\\d)");
    private static final Map<String, String> PORT_PROPERTIES = new LinkedHashMap<>();

    static {
        PORT_PROPERTIES.put("siderolink.api.port", "the Provision API");
        PORT_PROPERTIES.put("siderolink.logs.port", "the kernel log receiver");
        PORT_PROPERTIES.put("siderolink.events.port", "the event sink");
        PORT_PROPERTIES.put("server.port", "the HTTP server (Actuator and API)");
    }

    private Environment environment;

    @Override
    public void setEnvironment(Environment environment) {
        this.environment = environment;
    }

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, BindException cause) {
        Integer port = findPort(rootFailure);
        String what = port == null ? "A port this server listens on" : "Port " + port + describe(port);
        return new FailureAnalysis(what + " is already in use or cannot be bound (" + cause.getMessage() + ").",
                "Stop the process that holds the port, or give this server another port with the property named above.", cause);
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

    private static Integer findPort(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("bind")) {
                Matcher m = PORT.matcher(t.getMessage());
                if (m.find()) {
                    return Integer.valueOf(m.group(1));
                }
            }
        }
        return null;
    }
}
