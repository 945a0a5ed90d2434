package dev.siderolink.server.wireguard;

import static dev.siderolink.server.testing.RunningServer.component;
import static dev.siderolink.server.testing.RunningServer.details;
import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.testing.FakeWgCommands;
import dev.siderolink.server.testing.FakeWireGuard;
import dev.siderolink.server.testing.RunningServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The link process's probes over HTTP while its interface goes away and comes back: not ready
 * (503, with the reason) while it is missing or {@code wg}/{@code ip} do not answer, alive (200)
 * all along, ready again once the reconciler has recreated it, without a restart. On a fake
 * {@code wg}/{@code ip}, which can lose its interface or stop answering on demand.
 */
class LinkProbesTest {

    private static final String IF = "slprobe1";

    @TempDir Path dir;

    @Test
    void aMissingInterfaceMakesTheLinkUnreadyButAliveUntilTheReconcilerRecreatesIt() {
        try (RunningServer server = RunningServer.start(List.of(FakeWireGuard.class),
                "--siderolink.components=link",
                "--siderolink.standalone.dir=" + dir,
                "--siderolink.wireguard.interface=" + IF,
                "--siderolink.wireguard.endpoint=192.0.2.1",
                "--siderolink.wireguard.reconcile-interval=1h", // passes only when asked: the test decides when it is recreated
                "--siderolink.api.port=0")) {
            FakeWgCommands wg = server.bean(FakeWgCommands.class);
            PeerReconciler reconciler = server.bean(PeerReconciler.class);
            Awaitility.await("first pass").atMost(Duration.ofSeconds(10)).until(() -> reconciler.lastSuccess() != null);
            server.health("/readiness", 200);

            wg.links.remove(IF); // deleted by hand, or wireguard-go died
            Map<String, Object> notReady = server.health("/readiness", 503);
            assertThat(component(notReady, "wireguard")).containsEntry("status", "DOWN");
            assertThat(details(notReady, "wireguard")).containsEntry("interfaceUp", false)
                    .containsEntry("reason", "interface " + IF + " is missing or down; the next reconcile pass recreates it");
            assertThat(component(notReady, "provision")).containsEntry("status", "UP");
            assertThat(server.health("/liveness", 200)).containsEntry("status", "UP");

            reconciler.requestPass();
            Awaitility.await("interface recreated").atMost(Duration.ofSeconds(10)).until(() -> wg.links.containsKey(IF));
            assertThat(details(server.health("/readiness", 200), "wireguard")).containsEntry("interfaceUp", true);
            assertThat(server.http.get().uri("/actuator/prometheus").exchange().expectBody(String.class).returnResult().getResponseBody())
                    .contains("siderolink_wireguard_interface_recreations_total 1.0");
        }
    }

    @Test
    void failingPassesShowTheirErrorButNeverFailLiveness() {
        try (RunningServer server = RunningServer.start(List.of(FakeWireGuard.class),
                "--siderolink.components=link",
                "--siderolink.standalone.dir=" + dir,
                "--siderolink.wireguard.interface=" + IF,
                "--siderolink.wireguard.endpoint=192.0.2.1",
                "--siderolink.wireguard.reconcile-interval=1h",
                "--siderolink.api.port=0")) {
            FakeWgCommands wg = server.bean(FakeWgCommands.class);
            PeerReconciler reconciler = server.bean(PeerReconciler.class);
            Awaitility.await("first pass").atMost(Duration.ofSeconds(10)).until(() -> reconciler.lastSuccess() != null);

            wg.broken = true; // wg and ip stop answering
            reconciler.requestPass();
            Awaitility.await("failed pass").atMost(Duration.ofSeconds(10)).until(() -> reconciler.lastError() != null);
            Map<String, Object> notReady = server.health("/readiness", 503);
            assertThat(details(notReady, "wireguard")).containsEntry("interfaceUp", false)
                    .hasEntrySatisfying("lastError", error -> assertThat((String) error).contains("no answer within"));
            Map<String, Object> alive = server.health("/liveness", 200);
            assertThat(component(alive, "peerReconciler")).containsEntry("status", "UP");
            assertThat(details(alive, "peerReconciler")).containsKey("lastError");

            wg.broken = false;
            server.health("/readiness", 200);
        }
    }

}
