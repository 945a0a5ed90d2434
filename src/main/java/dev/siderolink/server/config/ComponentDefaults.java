package dev.siderolink.server.config;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Derives framework settings from ours, at the lowest precedence so explicit settings win:
 * <ul>
 *   <li>the gRPC starter's server is the Provision API, so it listens on {@code siderolink.api.port}
 *       when the {@code link} component runs, and not at all ({@code -1}) otherwise;</li>
 *   <li>the members of the {@code readiness} and {@code liveness} health groups are the contributors
 *       of the components this process runs ({@link Component#readiness()}, {@link Component#liveness()}).
 *       One image runs as three processes with different components, so a fixed list would name
 *       contributors that do not exist in some of them, and Spring Boot refuses to start with a group
 *       member that does not exist (a check worth keeping: it catches a renamed indicator).</li>
 * </ul>
 */
public class ComponentDefaults implements EnvironmentPostProcessor {

    static final String READINESS_INCLUDE = "management.endpoint.health.group.readiness.include";
    static final String LIVENESS_INCLUDE = "management.endpoint.health.group.liveness.include";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        Set<Component> components = OnComponentCondition.enabled(Binder.get(environment));
        Map<String, Object> derived = new LinkedHashMap<>();
        derived.put("grpc.server.port", components.contains(Component.LINK) ? environment.getProperty("siderolink.api.port", "8081") : "-1");
        derived.put(READINESS_INCLUDE, String.join(",", readiness(components)));
        derived.put(LIVENESS_INCLUDE, String.join(",", liveness(components)));
        environment.getPropertySources().addLast(new MapPropertySource("siderolink-derived", derived));
    }

    /** Spring's readiness state, the store (every process reads it), then each component's contributors. */
    static Set<String> readiness(Set<Component> components) {
        Set<String> names = new LinkedHashSet<>();
        names.add(Component.Health.READINESS_STATE);
        names.add(Component.Health.STORE);
        components.forEach(c -> names.addAll(c.readiness()));
        return names;
    }

    /** Spring's liveness state, then each component's contributors. */
    static Set<String> liveness(Set<Component> components) {
        Set<String> names = new LinkedHashSet<>();
        names.add(Component.Health.LIVENESS_STATE);
        components.forEach(c -> names.addAll(c.liveness()));
        return names;
    }
}
