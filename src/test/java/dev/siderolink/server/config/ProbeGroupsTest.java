package dev.siderolink.server.config;

import static dev.siderolink.server.testing.RunningServer.details;
import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.testing.FakeWireGuard;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.RunningServer;
import dev.siderolink.server.wireguard.PeerReconciler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One image runs as three processes, each with its own {@code siderolink.components}: each must
 * start (Spring Boot refuses a probe group that names a missing contributor) and its probes must
 * check exactly the contributors of the components it runs. The link component runs on a fake
 * {@code wg}/{@code ip} here: this is about health wiring, not WireGuard.
 */
class ProbeGroupsTest {

    private static final Set<String> OURS = Set.of("store", "wireguard", "peerReconciler", "provision", "serverlogs", "serverevents");

    @TempDir Path dir;

    static Stream<Arguments> processes() {
        return Stream.of(
                Arguments.of("link",
                        Set.of("readinessState", "store", "wireguard", "provision"),
                        Set.of("livenessState", "peerReconciler")),
                Arguments.of("serverlogs",
                        Set.of("readinessState", "store", "serverlogs"),
                        Set.of("livenessState", "serverlogs")),
                Arguments.of("serverevents",
                        Set.of("readinessState", "store", "serverevents"),
                        Set.of("livenessState", "serverevents")),
                Arguments.of("link,serverlogs,serverevents",
                        Set.of("readinessState", "store", "wireguard", "provision", "serverlogs", "serverevents"),
                        Set.of("livenessState", "peerReconciler", "serverlogs", "serverevents")));
    }

    @ParameterizedTest(name = "siderolink.components={0}")
    @MethodSource("processes")
    void eachProcessStartsAndItsProbesCheckExactlyItsOwnComponents(String components, Set<String> readiness, Set<String> liveness) {
        try (RunningServer server = start(components)) {
            Map<String, Object> ready = server.health("/readiness", 200);
            assertThat(ready).containsEntry("status", "UP");
            assertThat(components(ready).keySet()).containsExactlyInAnyOrderElementsOf(readiness);

            Map<String, Object> live = server.health("/liveness", 200);
            assertThat(live).containsEntry("status", "UP");
            assertThat(components(live).keySet()).containsExactlyInAnyOrderElementsOf(liveness);

            Set<String> ours = new HashSet<>(readiness);
            ours.addAll(liveness);
            ours.retainAll(OURS);
            assertThat(components(server.health("", 200)).keySet()).as("this process's contributors and no other's")
                    .filteredOn(OURS::contains).containsExactlyInAnyOrderElementsOf(ours);
        }
    }

    @Test
    void theFullHealthShowsWhatEachComponentIsDoing() throws Exception {
        try (RunningServer server = start("link,serverlogs,serverevents")) {
            int api = (Integer) details(server.health("", 200), "provision").get("port");
            try (ProvisionClient client = new ProvisionClient("127.0.0.1", api)) {
                client.provision(ProvisionClient.request(UUID.randomUUID().toString(), ProvisionClient.newKey()).build());
            }
            server.bean(PeerReconciler.class).requestPass();
            Awaitility.await("the new peer is counted").atMost(Duration.ofSeconds(10)).until(() ->
                    Integer.valueOf(1).equals(details(server.health("", 200), "wireguard").get("peers")));

            Map<String, Object> health = server.health("", 200);
            assertThat(details(health, "store")).containsEntry("type", "standalone").containsEntry("synced", true)
                    .containsEntry("bindings", 1).containsEntry("directory", dir.resolve("state").toString())
                    .containsKeys("metalMachines", "lastRescan");
            assertThat(details(health, "wireguard")).containsEntry("interface", "slprobe0").containsEntry("interfaceUp", true)
                    .containsEntry("peers", 1).containsKeys("mode", "listenPort", "connectedPeers", "lastReconcile");
            assertThat(details(health, "peerReconciler")).containsEntry("interval", "PT5S").containsKeys("lastPassEnded", "lastSuccess");
            assertThat(details(health, "provision")).containsEntry("requests", Map.of("ok", 1)).containsEntry("joinTokenRequired", false);
            assertThat(details(health, "provision").get("lastProvisioned")).isNotEqualTo("never");
            assertThat(details(health, "serverlogs")).containsEntry("received", Map.of("tcp", 0, "udp", 0)).containsEntry("dropped", Map.of())
                    .containsEntry("lastMessage", "never").containsEntry("output", dir.resolve("serverlogs.jsonl").toString())
                    .containsKeys("tcp", "udp", "udpReceiveBufferBytes", "tcpConnections", "written", "outputQueuedBytes");
            assertThat(details(health, "serverevents")).containsEntry("lastEvent", "never").containsEntry("received", 0)
                    .containsEntry("failures", Map.of()).containsKeys("grpc", "written", "statusUpdates", "replays", "output", "outputQueuedBytes");
            assertThat(components(health)).as("discovery and refresh-scope indicators are not ours: off")
                    .doesNotContainKeys("discoveryComposite", "reactiveDiscoveryClients", "refreshScope");
        }
    }

    private RunningServer start(String components) {
        return RunningServer.start(List.of(FakeWireGuard.class),
                "--siderolink.components=" + components,
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.wireguard.interface=slprobe0",
                "--siderolink.wireguard.endpoint=192.0.2.1",
                "--siderolink.api.port=0",
                "--siderolink.logs.port=0",
                "--siderolink.logs.output=" + dir.resolve("serverlogs.jsonl"),
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("serverevents.jsonl"));
    }


    @SuppressWarnings("unchecked")
    static Map<String, Object> components(Map<String, Object> health) {
        return (Map<String, Object>) health.get("components");
    }

}
