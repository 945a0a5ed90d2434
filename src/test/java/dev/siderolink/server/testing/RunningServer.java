package dev.siderolink.server.testing;

import dev.siderolink.server.SiderolinkServerApplication;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The server started in this JVM from its main class, as {@code java -jar} starts it (no test
 * slicing, metrics export on), with a client for its HTTP port. Closing it stops the server.
 */
public final class RunningServer implements AutoCloseable {

    private static final ParameterizedTypeReference<Map<String, Object>> JSON = new ParameterizedTypeReference<>() {};

    public final ConfigurableApplicationContext context;
    public final WebTestClient http;

    private RunningServer(ConfigurableApplicationContext context) {
        this.context = context;
        String port = context.getEnvironment().getProperty("local.server.port");
        this.http = WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).responseTimeout(Duration.ofSeconds(30)).build();
    }

    /** Starts the server with {@code args} (an HTTP port of its own is added); {@code extra} are configuration classes to add. */
    public static RunningServer start(List<Class<?>> extra, String... args) {
        List<Class<?>> sources = new ArrayList<>();
        sources.add(SiderolinkServerApplication.class);
        sources.addAll(extra);
        List<String> argv = new ArrayList<>(List.of(args));
        argv.add("--server.port=0"); // (the Talos API's port is 0 for every test: src/test/resources/config)
        return new RunningServer(new SpringApplicationBuilder(sources.toArray(Class<?>[]::new)).run(argv.toArray(String[]::new)));
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    /**
     * GET {@code /actuator/health} plus {@code group} ("" for the whole health, else
     * {@code /liveness} or {@code /readiness}), checking the HTTP status; the JSON body.
     */
    public Map<String, Object> health(String group, int status) {
        return http.get().uri("/actuator/health" + group).exchange()
                .expectStatus().isEqualTo(status).expectBody(JSON).returnResult().getResponseBody();
    }

    /** {@code components.<name>} of a health body. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> component(Map<String, Object> health, String name) {
        Map<String, Object> components = (Map<String, Object>) health.get("components");
        if (components == null || !components.containsKey(name)) {
            throw new AssertionError("no component " + name + " in " + health);
        }
        return (Map<String, Object>) components.get(name);
    }

    /** {@code components.<name>.details} of a health body. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> details(Map<String, Object> health, String name) {
        return (Map<String, Object>) component(health, name).get("details");
    }

    @Override
    public void close() {
        context.close();
    }
}
