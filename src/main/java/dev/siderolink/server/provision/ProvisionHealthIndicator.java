package dev.siderolink.server.provision;

import io.grpc.Server;
import java.time.Instant;
import net.devh.boot.grpc.server.event.GrpcServerStartedEvent;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;
import org.springframework.context.ApplicationListener;

/**
 * The Provision API's readiness: UP while the gRPC starter's server is serving on
 * {@code siderolink.api.port}. It starts last of all (after the HTTP server), so a probe may see it
 * DOWN for a moment during start-up, and again while it shuts down. Details: the port, whether a
 * join token is required, calls by outcome and the last successful one.
 */
final class ProvisionHealthIndicator implements HealthIndicator, ApplicationListener<GrpcServerStartedEvent> {

    private final ProvisionMetrics metrics;
    private final boolean joinTokenRequired;
    private volatile Server server;
    private volatile String address;

    ProvisionHealthIndicator(ProvisionMetrics metrics, boolean joinTokenRequired) {
        this.metrics = metrics;
        this.joinTokenRequired = joinTokenRequired;
    }

    @Override
    public void onApplicationEvent(GrpcServerStartedEvent event) {
        address = event.getAddress();
        server = event.getServer();
    }

    @Override
    public Health health() {
        Server current = server;
        Health.Builder health;
        if (current == null) {
            health = Health.down().withDetail("reason", "the Provision gRPC server has not started yet");
        } else if (current.isShutdown()) {
            health = Health.down().withDetail("reason", "the Provision gRPC server is shut down");
        } else {
            health = Health.up().withDetail("address", address).withDetail("port", current.getPort());
        }
        Instant last = metrics.lastProvisioned();
        return health.withDetail("joinTokenRequired", joinTokenRequired)
                .withDetail("requests", metrics.requestsByOutcome())
                .withDetail("lastProvisioned", last == null ? "never" : last.toString())
                .build();
    }
}
