package dev.siderolink.server.chart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.ApiProperties;
import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.EventsProperties;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.TalosApiProperties;
import dev.siderolink.server.config.WireguardProperties;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;
import org.springframework.core.env.SimpleCommandLinePropertySource;
import org.springframework.util.unit.DataSize;

/**
 * The environment the chart gives each container, bound to the server's own
 * {@code @ConfigurationProperties} the way Spring binds real environment variables (relaxed
 * binding). A misspelt variable would be ignored silently by the server and leave a default: so
 * every value here differs from its default, and every variable the chart sets must be one that
 * was checked.
 */
class ChartEnvironmentTest {

    private final RenderedChart chart = RenderedChart.render("""
            wireguard: {port: 51999}
            api: {port: 9081}
            logs: {port: 5001}
            events: {port: 5002, negativeAddressFilter: [10.5.0.0/16, "fd00:1::/64"]}
            provision: {joinToken: {value: t0ken}}
            link: {httpPort: 9180}
            serverlogs: {httpPort: 9182}
            serverevents: {httpPort: 9183}
            talosApi: {port: 50999, names: [talos.example.org, 198.51.100.7]}
            """);

    /** The container's Spring environment: its env as system environment, its args as the entrypoint passes them. */
    private Binder binder(String container, Set<String> checked) {
        Map<String, String> env = chart.env(container);
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().remove(StandardEnvironment.SYSTEM_PROPERTIES_PROPERTY_SOURCE_NAME);
        environment.getPropertySources().addFirst(new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, new HashMap<>(env)));
        // (named as Spring names the real one: relaxed binding of env names depends on it)
        // src/main/docker/entrypoint.sh turns the first argument into this property
        environment.getPropertySources().addFirst(new SimpleCommandLinePropertySource(
                "--siderolink.components=" + String.join(",", chart.container(container).getArgs())));
        checked.addAll(env.keySet());
        return Binder.get(environment);
    }

    @Test
    void linkGetsItsComponentStoreEndpointPortsAndJoinToken() {
        Set<String> checked = new TreeSet<>();
        Binder link = binder("link", checked);
        SiderolinkProperties process = link.bindOrCreate("siderolink", SiderolinkProperties.class);
        assertThat(process.components()).containsExactly(Component.LINK);
        assertThat(process.store()).isEqualTo(StoreKind.KUBERNETES);
        assertThat(process.namespace()).isEqualTo(RenderedChart.NAMESPACE);
        WireguardProperties wireguard = link.bindOrCreate("siderolink.wireguard", WireguardProperties.class);
        assertThat(wireguard.endpoint()).containsExactly(RenderedChart.ENDPOINT);
        assertThat(wireguard.port()).isEqualTo(51999);
        assertThat(link.bindOrCreate("siderolink.api", ApiProperties.class).port()).isEqualTo(9081);
        assertThat(link.bindOrCreate("siderolink.provision", ProvisionProperties.class).joinToken()).isEqualTo("t0ken");
        assertCommon(link, 9180, "INFO");
        assertThat(checked).containsExactlyInAnyOrder(common("SIDEROLINK_WIREGUARD_ENDPOINT", "SIDEROLINK_WIREGUARD_PORT",
                "SIDEROLINK_API_PORT", "SIDEROLINK_PROVISION_JOIN_TOKEN"));
    }

    @Test
    void serverlogsGetsItsComponentStoreAndPort() {
        Set<String> checked = new TreeSet<>();
        Binder logs = binder("serverlogs", checked);
        SiderolinkProperties process = logs.bindOrCreate("siderolink", SiderolinkProperties.class);
        assertThat(process.components()).containsExactly(Component.SERVERLOGS);
        assertThat(process.store()).isEqualTo(StoreKind.KUBERNETES);
        LogsProperties properties = logs.bindOrCreate("siderolink.logs", LogsProperties.class);
        assertThat(properties.port()).isEqualTo(5001);
        assertThat(properties.output()).as("the stream goes to the container's stdout").isEqualTo("stdout");
        assertThat(properties.maxMessageSize()).isEqualTo(DataSize.ofKilobytes(64));
        assertCommon(logs, 9182, "WARN");
        assertThat(checked).containsExactlyInAnyOrder(common("SIDEROLINK_LOGS_PORT"));
    }

    @Test
    void serverEventsGetsItsComponentStorePortAndNegativeAddressFilter() {
        Set<String> checked = new TreeSet<>();
        Binder events = binder("serverevents", checked);
        assertThat(events.bindOrCreate("siderolink", SiderolinkProperties.class).components()).containsExactly(Component.SERVEREVENTS);
        EventsProperties properties = events.bindOrCreate("siderolink.events", EventsProperties.class);
        assertThat(properties.port()).isEqualTo(5002);
        assertThat(properties.output()).isEqualTo("stdout");
        assertThat(properties.negativeAddressFilter()).containsExactly("10.5.0.0/16", "fd00:1::/64");
        TalosApiProperties talosApi = events.bindOrCreate("siderolink.talos-api", TalosApiProperties.class);
        assertThat(talosApi.port()).isEqualTo(50999);
        assertThat(talosApi.names()).containsExactly("talos.example.org", "198.51.100.7");
        assertThat(events.bindOrCreate("siderolink.wireguard", WireguardProperties.class).endpoint())
                .as("the Talos API's certificate names the endpoint's hosts").containsExactly(RenderedChart.ENDPOINT);
        assertCommon(events, 9183, "WARN");
        assertThat(checked).containsExactlyInAnyOrder(common("SIDEROLINK_EVENTS_PORT", "SIDEROLINK_EVENTS_NEGATIVEADDRESSFILTER",
                "SIDEROLINK_WIREGUARD_ENDPOINT", "SIDEROLINK_TALOSAPI_PORT", "SIDEROLINK_TALOSAPI_NAMES"));
    }

    private static void assertCommon(Binder binder, int serverPort, String level) {
        assertThat(binder.bind("server.port", Integer.class).get()).isEqualTo(serverPort);
        assertThat(binder.bind("logging.level.root", String.class).get()).isEqualTo(level);
        // spring-cloud-kubernetes would read the pod from the API (RBAC "get pods") for these
        assertThat(binder.bind("management.health.kubernetes.enabled", Boolean.class).get()).isFalse();
        assertThat(binder.bind("management.info.kubernetes.enabled", Boolean.class).get()).isFalse();
    }

    private static String[] common(String... specific) {
        List<String> names = new java.util.ArrayList<>(List.of("SIDEROLINK_STORE", "SIDEROLINK_NAMESPACE", "SERVER_PORT", "LOGGING_LEVEL_ROOT",
                "MANAGEMENT_HEALTH_KUBERNETES_ENABLED", "MANAGEMENT_INFO_KUBERNETES_ENABLED"));
        names.addAll(List.of(specific));
        return names.toArray(String[]::new);
    }
}
