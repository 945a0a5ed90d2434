package dev.siderolink.server.config;

import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Derives framework settings from ours, at the lowest precedence so explicit settings win:
 * the gRPC starter's server is the Provision API, so it listens on {@code siderolink.api.port}
 * when the {@code link} component runs, and not at all ({@code -1}) otherwise.
 */
public class ComponentDefaults implements EnvironmentPostProcessor {

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        boolean link = OnComponentCondition.enabled(Binder.get(environment)).contains(Component.LINK);
        Object grpcPort = link ? environment.getProperty("siderolink.api.port", "8081") : "-1";
        environment.getPropertySources().addLast(new MapPropertySource("siderolink-derived", Map.of("grpc.server.port", grpcPort)));
    }
}
