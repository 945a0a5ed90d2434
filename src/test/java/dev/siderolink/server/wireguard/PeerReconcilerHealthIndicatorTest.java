package dev.siderolink.server.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.testing.FakeWgCommands;
import dev.siderolink.server.testing.InMemoryResourceStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;

/**
 * When the link's liveness asks for a restart: only when the reconcile loop stops finishing passes
 * (failing passes are its normal way of coping). On a fake clock, so minutes pass instantly.
 */
class PeerReconcilerHealthIndicatorTest {

    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-26T12:00:00Z"));
    final Clock clock = new Clock() {
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(ZoneId zone) {
            return this;
        }

        public Instant instant() {
            return now.get();
        }
    };
    final FakeWgCommands wg = new FakeWgCommands();
    PeerReconciler reconciler;

    PeerReconciler reconciler(Duration interval) {
        WireguardProperties props = new WireguardProperties("sltest1", List.of("192.0.2.1"), 51821, WireguardProperties.Userspace.AUTO, interval, false);
        InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
        WireGuardDevice device = new WireGuardDevice(wg, props, identity, clock);
        InMemoryResourceStore store = new InMemoryResourceStore();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        reconciler = new PeerReconciler(device, store, new Connectivity(store, meters), interval, false, clock, meters);
        return reconciler;
    }

    @AfterEach
    void stop() {
        if (reconciler != null && reconciler.isRunning()) {
            reconciler.stop();
        }
    }

    @Test
    void stalledMeansTenIntervalsWithoutAnEndedPassAndNeverLessThanFiveMinutes() {
        assertThat(PeerReconcilerHealthIndicator.stallAfter(Duration.ofSeconds(5))).isEqualTo(Duration.ofMinutes(5));
        assertThat(PeerReconcilerHealthIndicator.stallAfter(Duration.ofMinutes(1))).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void aLoopThatStopsFinishingPassesIsDownAndComesBackWithTheNextPass() {
        // an hour between ticks: after the first pass, passes run only when the test runs one
        PeerReconciler loop = reconciler(Duration.ofHours(1));
        PeerReconcilerHealthIndicator indicator = new PeerReconcilerHealthIndicator(loop, clock);
        assertThat(indicator.health().getStatus()).as("not started").isEqualTo(Status.DOWN);
        loop.start();
        Awaitility.await("first pass").atMost(Duration.ofSeconds(10)).until(() -> loop.lastPassEnded() != null);

        now.set(now.get().plus(Duration.ofHours(10)).minusSeconds(1));
        assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);

        now.set(now.get().plusSeconds(2));
        Health stalled = indicator.health();
        assertThat(stalled.getStatus()).isEqualTo(Status.DOWN);
        assertThat((String) stalled.getDetails().get("reason")).startsWith("no reconcile pass has ended for 36001 s (stalled after 36000 s)");

        loop.fencedPass();
        assertThat(indicator.health().getStatus()).isEqualTo(Status.UP);
    }

    @Test
    void failingPassesKeepTheLoopAlive() {
        PeerReconciler loop = reconciler(Duration.ofHours(1));
        PeerReconcilerHealthIndicator indicator = new PeerReconcilerHealthIndicator(loop, clock);
        loop.start();
        Awaitility.await("first pass").atMost(Duration.ofSeconds(10)).until(() -> loop.lastPassEnded() != null);
        wg.broken = true;

        for (int i = 0; i < 20; i++) {
            now.set(now.get().plus(Duration.ofHours(1)));
            loop.fencedPass();
        }

        Health health = indicator.health();
        assertThat(health.getStatus()).isEqualTo(Status.UP);
        assertThat((String) health.getDetails().get("lastError")).contains("no answer within");
        assertThat(health.getDetails().get("lastSuccess")).isEqualTo("2026-11-26T12:00:00Z");
    }
}
