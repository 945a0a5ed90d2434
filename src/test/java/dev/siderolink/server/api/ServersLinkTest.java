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
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.testing.InMemoryResourceStore;
import dev.siderolink.server.wireguard.Connectivity;
import dev.siderolink.server.wireguard.ConnectivityFixture;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.support.StaticListableBeanFactory;
import org.springframework.util.unit.DataSize;

/** Where the {@code link} component runs, a server shows its WireGuard link as the last pass saw it. */
class ServersLinkTest {

    @Test
    void serversShowTheLinkOfTheirPeerAndNoneForServersWithoutOne() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        InMemoryResourceStore store = new InMemoryResourceStore();
        ServerBinding up = new ServerBinding("a", new ServerBinding.Siderolink("fd00::a/64", "key-a"), null, null, null);
        store.put(up);
        store.put(new ServerBinding("b", new ServerBinding.Siderolink("fd00::b/64", "key-b"), null, null, null));
        Connectivity connectivity = new Connectivity(store, registry);
        Instant now = Instant.parse("2026-11-26T22:00:00Z");
        ConnectivityFixture.seen(connectivity, up, "198.51.100.7:40000", now.minusSeconds(30), now);
        StaticListableBeanFactory beans = new StaticListableBeanFactory();
        beans.addBean("connectivity", connectivity);
        InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
        ServersController controller = new ServersController(store, new ServerHistories(HistoryProperties.DEFAULT, registry),
                beans.getBeanProvider(Connectivity.class), identity, new ApiProperties(8081),
                new LogsProperties(4001, "stdout", DataSize.ofKilobytes(64), DataSize.ofMegabytes(32), DataSize.ofMegabytes(16), true),
                new EventsProperties(4002, "stdout", List.of(), DataSize.ofMegabytes(16), 256), new ProvisionProperties(""),
                new WireguardProperties("siderolink", List.of("192.0.2.10"), 51821, WireguardProperties.Userspace.AUTO, Duration.ofSeconds(5), false),
                new SiderolinkProperties(Set.of(Component.values()), StoreKind.STANDALONE, "default"));

        List<ServersController.ServerView> servers = controller.servers();
        assertThat(servers).extracting(ServersController.ServerView::uuid).containsExactly("a", "b");
        ServersController.Link link = servers.get(0).link();
        assertThat(link).isEqualTo(new ServersController.Link(true, now.minusSeconds(30), "198.51.100.7:40000", 1234, 567));
        assertThat(servers.get(0).tunnelAddress()).isEqualTo("fd00::a");
        assertThat(servers.get(1).link()).as("no peer for b").isNull();
    }
}
