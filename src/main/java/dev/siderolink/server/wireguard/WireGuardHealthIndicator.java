package dev.siderolink.server.wireguard;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * The link's health: the interface present and up, its listen port, peers, connected peers, and
 * the last successful reconcile. DOWN when the interface is not up, or no pass has succeeded for
 * three intervals (the reconciler is failing every time).
 */
class WireGuardHealthIndicator extends AbstractHealthIndicator {

    private final WireGuardDevice device;
    private final PeerReconciler reconciler;
    private final Connectivity connectivity;
    private final int listenPort;
    private final Duration interval;
    private final Clock clock;

    WireGuardHealthIndicator(WireGuardDevice device, PeerReconciler reconciler, Connectivity connectivity, int listenPort, Duration interval, Clock clock) {
        super("WireGuard health check failed");
        this.device = device;
        this.reconciler = reconciler;
        this.connectivity = connectivity;
        this.listenPort = listenPort;
        this.interval = interval;
        this.clock = clock;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean up = device.isUp();
        Instant last = reconciler.lastSuccess();
        boolean fresh = last != null && Duration.between(last, clock.instant()).compareTo(interval.multipliedBy(3).plusSeconds(5)) < 0;
        builder.status(up && fresh ? org.springframework.boot.actuate.health.Status.UP : org.springframework.boot.actuate.health.Status.DOWN)
                .withDetail("interface", device.name())
                .withDetail("mode", String.valueOf(device.mode()).toLowerCase(java.util.Locale.ROOT))
                .withDetail("interfaceUp", up)
                .withDetail("listenPort", listenPort)
                .withDetail("peers", connectivity.peerCount())
                .withDetail("connectedPeers", connectivity.connectedCount())
                .withDetail("lastReconcile", last == null ? "never" : last.toString());
        if (reconciler.lastError() != null) {
            builder.withDetail("lastError", reconciler.lastError());
        }
    }
}
