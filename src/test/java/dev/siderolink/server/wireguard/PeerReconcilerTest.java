package dev.siderolink.server.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.testing.FakeWgCommands;
import dev.siderolink.server.testing.InMemoryResourceStore;
import dev.siderolink.server.testing.ProvisionClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The reconciler's rules against an in-memory wg: what each pass runs and what it leaves behind. */
class PeerReconcilerTest {

    static final String IF = "sltest0";
    final FakeWgCommands wg = new FakeWgCommands();
    final InMemoryResourceStore store = new InMemoryResourceStore();
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-26T12:00:00Z"));
    final Clock clock = new Clock() {
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        public Instant instant() {
            return now.get();
        }
    };
    final InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
    WireGuardDevice device;
    Connectivity connectivity;
    PeerReconciler reconciler;

    @BeforeEach
    void setUp() {
        reconciler = reconciler(false);
        device.ensure();
    }

    PeerReconciler reconciler(boolean removeDown) {
        WireguardProperties props = new WireguardProperties(IF, List.of("192.0.2.1"), 51821, WireguardProperties.Userspace.AUTO, Duration.ofSeconds(5), removeDown);
        device = new WireGuardDevice(wg, props, identity, clock);
        connectivity = new Connectivity(store, meters);
        return new PeerReconciler(device, store, connectivity, Duration.ofSeconds(5), removeDown, clock, meters);
    }

    /** In the form wg prints (RFC 5952), whatever the random prefix: the expectations compare text. */
    String address(int i) {
        return identity.network().nodeAddress(new byte[] {0, 0, 0, 0, 0, 0, (byte) (i >> 8), (byte) i}).toCanonicalString();
    }

    FakeWgCommands.Link link() {
        return wg.links.get(IF);
    }

    @Test
    void setsUpTheInterfaceWithKeyPortAddressMtuAndUp() {
        FakeWgCommands.Link link = link();
        assertThat(link.privateKey).isEqualTo(identity.privateKey().toBase64());
        assertThat(link.listenPort).isEqualTo(51821);
        assertThat(link.addresses).containsExactly(identity.network().serverAddress().toCompressedString() + "/64");
        assertThat(link.mtu).isEqualTo(1280);
        assertThat(link.up).isTrue();
        assertThat(wg.commands).noneMatch(c -> c.contains(identity.privateKey().toBase64()));
    }

    @Test
    void convergesFromEmptyWithOneWgSetAndAnIdlePassOnlyReadsTheDump() {
        for (int i = 2; i < 52; i++) {
            store.put("server-" + i, address(i) + "/64", ProvisionClient.newKey());
        }
        long setsBefore = wg.count("wg", "set");

        assertThat(reconciler.pass()).isEqualTo(1);
        assertThat(wg.count("wg", "set") - setsBefore).isEqualTo(1);
        assertThat(link().peers).hasSize(50);
        store.bindings().forEach(b -> assertThat(link().peers.get(b.siderolink().publicKey()))
                .isEqualTo(b.siderolink().address().replace("/64", "/128")));

        int before = wg.commands.size();
        assertThat(reconciler.pass()).isZero();
        assertThat(wg.commands.subList(before, wg.commands.size())).containsExactly(List.of("wg", "show", IF, "dump"));
    }

    @Test
    void anAddressWithOneZeroGroupIsWrittenAsWgPrintsItAndThenLeftAlone() {
        // interface id 1:0:2:3: wg (inet_ntop, RFC 5952) prints "...:1:0:2:3", not "...:1::2:3"
        var address = identity.network().nodeAddress(new byte[] {0, 1, 0, 0, 0, 2, 0, 3});
        String key = ProvisionClient.newKey();
        store.put("server-a", address.toCompressedString() + "/64", key);

        assertThat(reconciler.pass()).isEqualTo(1);
        assertThat(link().peers.get(key)).isEqualTo(address.toCanonicalString() + "/128").endsWith(":1:0:2:3/128");
        assertThat(reconciler.pass()).isZero();

        link().peers.put(key, address.toCompressedString() + "/128"); // another spelling of the same address
        assertThat(reconciler.pass()).isZero();
    }

    @Test
    void aRebootedNodesNewKeyReplacesTheOldPeerInOnePass() {
        String oldKey = ProvisionClient.newKey();
        store.put("server-a", address(7) + "/64", oldKey);
        reconciler.pass();
        String newKey = ProvisionClient.newKey();
        store.put("server-a", address(7) + "/64", newKey);

        reconciler.pass();

        assertThat(link().peers).containsExactly(java.util.Map.entry(newKey, address(7) + "/128"));
    }

    @Test
    void aDeletedBindingLosesItsPeer() {
        store.put("server-a", address(7) + "/64", ProvisionClient.newKey());
        store.put("server-b", address(8) + "/64", ProvisionClient.newKey());
        reconciler.pass();
        store.remove("server-a");

        reconciler.pass();

        assertThat(link().peers.values()).containsExactly(address(8) + "/128");
    }

    @Test
    void bindingsWithoutKeyOrAddressGetNoPeer() {
        store.put("no-key", address(7) + "/64", null);
        store.put("no-address", null, ProvisionClient.newKey());
        store.put("bad-address", "not-an-address", ProvisionClient.newKey());
        reconciler.pass();
        assertThat(link().peers).isEmpty();
    }

    @Test
    void aMissingInterfaceIsRecreatedWithItsPeers() {
        store.put("server-a", address(7) + "/64", ProvisionClient.newKey());
        reconciler.pass();
        wg.links.remove(IF);

        reconciler.pass();

        assertThat(link()).isNotNull();
        assertThat(link().privateKey).isEqualTo(identity.privateKey().toBase64());
        assertThat(link().peers).hasSize(1);
        assertThat(meters.counter("siderolink.wireguard.interface.recreations").count()).isEqualTo(1);
    }

    @Test
    void usesWireguardGoWhenTheKernelSaysNo() {
        wg.kernelSupportsWireGuard = false;
        wg.links.clear();
        reconciler(false);
        // the fake runs no processes: what matters is that wireguard-go is what it was asked for
        org.assertj.core.api.Assertions.assertThatThrownBy(device::ensure)
                .isInstanceOfSatisfying(CommandException.class, e -> assertThat(e.getMessage()).startsWith("wireguard-go -f " + IF));
        assertThat(wg.commands).contains(List.of("ip", "link", "add", "dev", IF, "type", "wireguard"));
    }

    @Test
    void aMissingToolStopsStartUpNamingThePackages() {
        wg.kernelSupportsWireGuard = false;
        wg.links.clear();
        PeerReconciler fresh = reconciler(false);
        org.assertj.core.api.Assertions.assertThatThrownBy(fresh::start)
                .isInstanceOfSatisfying(dev.siderolink.server.startup.StartupProblem.class, e -> {
                    assertThat(e.getMessage()).startsWith("Cannot set up the WireGuard interface " + IF).contains("wireguard-go");
                    assertThat(e.action()).contains("apt-get install wireguard-tools wireguard-go iproute2");
                });
        assertThat(fresh.isRunning()).isFalse();
    }

    @Test
    void connectivityTransitionsAreWrittenOnceEach() {
        String key = ProvisionClient.newKey();
        store.put("server-a", address(7) + "/64", key);
        reconciler.pass();
        link().handshakes.put(key, now.get());

        reconciler.pass();
        Condition up = Condition.find(store.binding("server-a").orElseThrow().conditions(), Connectivity.CONDITION);
        assertThat(up.status()).isEqualTo("True");

        now.set(now.get().plusSeconds(60));
        reconciler.pass();
        assertThat(store.conditionWrites).hasValue(1);

        now.set(now.get().plusSeconds(300)); // last handshake 360 s ago
        reconciler.pass();
        Condition down = Condition.find(store.binding("server-a").orElseThrow().conditions(), Connectivity.CONDITION);
        assertThat(down.status()).isEqualTo("False");
        assertThat(down.reason()).isEqualTo("SideroLinkDisconnected");
        assertThat(down.severity()).isEqualTo("Warning");
        assertThat(down.lastTransitionTime()).isNotEqualTo(up.lastTransitionTime());
        reconciler.pass();
        assertThat(store.conditionWrites).hasValue(2);
        assertThat(connectivity.peers().get("server-a").connected()).isFalse();
    }

    @Test
    void perServerGaugesAreRegisteredOnceAndRemovedWithTheirBinding() {
        String key = ProvisionClient.newKey();
        store.put("server-a", address(7) + "/64", key);
        reconciler.pass();
        link().handshakes.put(key, now.get().minusSeconds(30));
        reconciler.pass();
        var gauge = meters.find("siderolink.wireguard.peer.connected").tag("server_uuid", "server-a").gauge();
        assertThat(gauge).isNotNull();
        assertThat(gauge.value()).isEqualTo(1.0);
        assertThat(meters.find("siderolink.wireguard.peer.handshake.age").tag("server_uuid", "server-a").gauge().value()).isEqualTo(30.0);

        reconciler.pass();
        assertThat(meters.find("siderolink.wireguard.peer.connected").tag("server_uuid", "server-a").gauge()).isSameAs(gauge);

        store.remove("server-a");
        reconciler.pass();
        assertThat(meters.find("siderolink.wireguard.peer.connected").tag("server_uuid", "server-a").gauges()).isEmpty();
        assertThat(meters.find("siderolink.wireguard.peer.received").gauges()).isEmpty();
    }

    @Test
    void noDisconnectionVerdictWhileTheInterfaceIsYoung() {
        store.put("server-a", address(7) + "/64", ProvisionClient.newKey());
        reconciler.pass();
        now.set(now.get().plusSeconds(200));
        reconciler.pass();
        assertThat(store.conditionWrites).hasValue(0);

        now.set(now.get().plusSeconds(100)); // 300 s after the interface came up: no handshake at all
        reconciler.pass();
        assertThat(Condition.find(store.binding("server-a").orElseThrow().conditions(), Connectivity.CONDITION).status()).isEqualTo("False");
    }

    @Test
    void downPeersAreRemovedWhenAskedAndComeBackWhenTheServerProvisions() {
        reconciler = reconciler(true);
        device.ensure();
        String key = ProvisionClient.newKey();
        store.put("server-a", address(7) + "/64", key);
        reconciler.pass();
        assertThat(link().peers).containsKey(key);

        now.set(now.get().plusSeconds(400));
        reconciler.pass();
        assertThat(link().peers).isEmpty();

        reconciler.provisioned("server-a");
        reconciler.pass();
        assertThat(link().peers).containsKey(key);
    }

    @Test
    void aFailingWgFailsThePassNotTheReconciler() {
        store.put("server-a", address(7) + "/64", ProvisionClient.newKey());
        wg.broken = true;

        reconciler.fencedPass();

        assertThat(meters.counter("siderolink.wireguard.reconcile.failures").count()).isEqualTo(1);
        assertThat(reconciler.lastError()).contains("killed");
        wg.broken = false;
        reconciler.fencedPass();
        assertThat(reconciler.lastError()).isNull();
        assertThat(link().peers).hasSize(1);
    }
}
