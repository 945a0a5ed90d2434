package dev.siderolink.server.wireguard;

import java.time.Instant;
import java.util.Locale;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;

/**
 * The link's readiness: UP while the interface exists and is up; with a missing or down interface
 * no node can reach this process. A readiness matter only: the reconciler recreates a missing
 * interface on its next pass. Details: the interface, its mode and listen port, peers, connected
 * peers, the last successful reconcile and the last error. Reconcile failures alone do not turn it
 * DOWN (the peers already set keep working; one bad binding must not take every tunnel out of
 * service): they show as {@code lastError} and in {@code siderolink_wireguard_reconcile_failures_total}.
 */
class WireGuardHealthIndicator extends AbstractHealthIndicator {

    private final WireGuardDevice device;
    private final PeerReconciler reconciler;
    private final Connectivity connectivity;
    private final int listenPort;

    WireGuardHealthIndicator(WireGuardDevice device, PeerReconciler reconciler, Connectivity connectivity, int listenPort) {
        super("WireGuard health check failed");
        this.device = device;
        this.reconciler = reconciler;
        this.connectivity = connectivity;
        this.listenPort = listenPort;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        boolean up = device.isUp();
        Instant last = reconciler.lastSuccess();
        if (up) {
            builder.up();
        } else {
            builder.down().withDetail("reason", "interface " + device.name() + " is missing or down; the next reconcile pass recreates it");
        }
        builder.withDetail("interface", device.name())
                .withDetail("mode", String.valueOf(device.mode()).toLowerCase(Locale.ROOT))
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
