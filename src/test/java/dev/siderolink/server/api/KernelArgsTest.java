package dev.siderolink.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.ApiProperties;
import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.EventsProperties;
import dev.siderolink.server.config.HistoryProperties;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.testing.InMemoryResourceStore;
import dev.siderolink.server.wireguard.Connectivity;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.util.unit.DataSize;

/** The kernel arguments for the configurations the HTTP test does not start. */
class KernelArgsTest {

    private final InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
    private final String prefix = identity.network().serverAddress().withoutPrefixLength().toCompressedString();

    private Map<String, Object> kernelArgs(List<String> endpoint, StoreKind store, String token) {
        var registry = new SimpleMeterRegistry();
        ServersController controller = new ServersController(new InMemoryResourceStore(), new ServerHistories(HistoryProperties.DEFAULT, registry),
                new StaticListableBeanFactory().getBeanProvider(Connectivity.class), identity, new ApiProperties(9000),
                new LogsProperties(4001, "stdout", DataSize.ofKilobytes(64), DataSize.ofMegabytes(32), DataSize.ofMegabytes(16), true),
                new EventsProperties(4002, "stdout", List.of(), DataSize.ofMegabytes(16), 256), new ProvisionProperties(token),
                new WireguardProperties("siderolink", endpoint, 51821, WireguardProperties.Userspace.AUTO, Duration.ofSeconds(5), false),
                new SiderolinkProperties(Set.of(Component.values()), store, "default"));
        return controller.kernelArgs();
    }

    @Test
    void ipv6EndpointIsBracketedAndItsWireGuardPortReplacedByTheApiPort() {
        Map<String, Object> body = kernelArgs(List.of("2001:db8::10:51999", "203.0.113.1"), StoreKind.KUBERNETES, "");
        assertThat(body.get("kernelArgs")).isEqualTo("siderolink.api=[2001:db8::10]:9000 talos.logging.kernel=tcp://[" + prefix
                + "]:4001 talos.events.sink=[" + prefix + "]:4002");
        assertThat(body.get("joinTokenRequired")).isEqualTo(false);
        assertThat(body).doesNotContainKey("note");
    }

    @Test
    void withoutAnEndpointInTheKubernetesStoreTheHostIsAPlaceholderSaidSo() {
        Map<String, Object> body = kernelArgs(List.of(), StoreKind.KUBERNETES, "s3cret");
        assertThat((String) body.get("kernelArgs")).startsWith("siderolink.api=<host>:9000?jointoken=<join-token> ");
        assertThat((String) body.get("note")).contains("siderolink.wireguard.endpoint", "join token");
        assertThat(body.toString()).doesNotContain("s3cret");
    }
}
