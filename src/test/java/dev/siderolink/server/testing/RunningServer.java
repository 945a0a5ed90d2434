package dev.siderolink.server.testing;

import dev.siderolink.server.SiderolinkServerApplication;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The server started in this JVM from its main class, as {@code java -jar} starts it (no test
 * slicing, metrics export on), with a client for its HTTP port. Closing it stops the server.
 */
public final class RunningServer implements AutoCloseable {

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
        argv.add("--server.port=0");
        return new RunningServer(new SpringApplicationBuilder(sources.toArray(Class<?>[]::new)).run(argv.toArray(String[]::new)));
    }

    public <T> T bean(Class<T> type) {
        return context.getBean(type);
    }

    @Override
    public void close() {
        context.close();
    }
}
