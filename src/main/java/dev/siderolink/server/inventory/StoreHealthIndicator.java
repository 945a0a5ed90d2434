package dev.siderolink.server.inventory;

import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * The store's part of readiness: UP once its cache holds a complete view. Before that, a lookup
 * would call a known server unknown and Provision could not tell which addresses are taken, so the
 * process must not take traffic. An outage after that is not a reason to refuse it: the cache keeps
 * the last state seen, the store catches up by itself, and the watch's state is in the details.
 * Never part of liveness: a restart cannot bring an API server or a disk back.
 */
final class StoreHealthIndicator implements HealthIndicator {

    private final ResourceStore store;
    private final String kind;

    StoreHealthIndicator(ResourceStore store, String kind) {
        this.store = store;
        this.kind = kind;
    }

    @Override
    public Health health() {
        boolean synced = store.isSynced();
        Health.Builder health = synced ? Health.up() : Health.down()
                .withDetail("reason", "the store has not yet read every ServerBinding and MetalMachine; lookups and Provision would be wrong");
        return health.withDetail("type", kind)
                .withDetail("synced", synced)
                .withDetail("bindings", store.bindings().size())
                .withDetail("metalMachines", store.metalMachines().size())
                .withDetails(store.healthDetails())
                .build();
    }
}
