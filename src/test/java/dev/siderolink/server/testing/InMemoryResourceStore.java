package dev.siderolink.server.testing;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.CachedResourceStore;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.StoreUnavailableException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import reactor.core.publisher.Mono;

/**
 * A {@link ResourceStore} in memory, for logic tests that need bindings but not a real store.
 *
 * <p>Writes are the update calls that change something (no-ops write nothing, as in the real
 * stores); they are counted per kind, and {@link #failNextWrites} makes the next ones fail.
 */
public class InMemoryResourceStore extends CachedResourceStore {

    public final AtomicInteger conditionWrites = new AtomicInteger();
    public final AtomicInteger reportWrites = new AtomicInteger();
    public final AtomicInteger metalMachineWrites = new AtomicInteger();
    /** While above zero, each write takes one off and fails with StoreUnavailableException instead, storing nothing. */
    public final AtomicInteger failNextWrites = new AtomicInteger();

    private final Map<MetalMachine.Key, MetalMachineStatus> metalMachineStatuses = new ConcurrentHashMap<>();

    public void put(String uuid, String address, String publicKey) {
        ServerBinding old = cache.get(uuid).orElse(null);
        ServerBinding next = new ServerBinding(uuid, new ServerBinding.Siderolink(address, publicKey), null, null, null);
        cache.put(old == null ? next : next.withReport(old.report()));
    }

    public void remove(String uuid) {
        cache.remove(uuid);
    }

    /** Stores {@code binding} as it is (metalMachineRef, clusterName, conditions, addresses and hostname included). */
    public void put(ServerBinding binding) {
        cache.put(binding);
    }

    /** A binding with a tunnel address that points at a MetalMachine and carries a cluster label. */
    public void put(String uuid, String address, String metalMachineNamespace, String metalMachineName, String clusterName) {
        ServerBinding.MetalMachineRef ref = metalMachineName == null ? null : new ServerBinding.MetalMachineRef(metalMachineNamespace, metalMachineName);
        cache.put(new ServerBinding(uuid, new ServerBinding.Siderolink(address, null), ref, clusterName, null));
    }

    /** Stores a MetalMachine owned by Machine {@code machineName} (null: no owner). */
    public void putMetalMachine(String namespace, String name, String machineName) {
        metalMachineCache.put(new MetalMachine(namespace, name, machineName));
    }

    /** Sets the status of a MetalMachine put before (e.g. conditions of Sidero's own); not counted as a write. */
    public void putMetalMachineStatus(String namespace, String name, MetalMachineStatus status) {
        MetalMachine.Key key = new MetalMachine.Key(namespace, name);
        if (metalMachineCache.get(key).isEmpty()) {
            throw new IllegalStateException("no MetalMachine " + key + ": putMetalMachine first");
        }
        metalMachineStatuses.put(key, status);
    }

    /** The status of MetalMachine {@code namespace/name} (empty if never set), or null when there is no such MetalMachine. */
    public MetalMachineStatus metalMachineStatus(String namespace, String name) {
        MetalMachine.Key key = new MetalMachine.Key(namespace, name);
        return metalMachineCache.get(key).isEmpty() ? null : metalMachineStatuses.getOrDefault(key, new MetalMachineStatus(null, null));
    }

    public void removeMetalMachine(String namespace, String name) {
        MetalMachine.Key key = new MetalMachine.Key(namespace, name);
        metalMachineCache.remove(key);
        metalMachineStatuses.remove(key);
    }

    @Override
    public Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator) {
        return Mono.fromSupplier(generator);
    }

    private final Map<String, Map<String, String>> secrets = new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public Mono<Map<String, String>> loadOrCreateSecret(String name, Supplier<Map<String, String>> generator) {
        return Mono.fromSupplier(() -> secrets.computeIfAbsent(name, n -> Map.copyOf(generator.get())));
    }

    @Override
    public Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update) {
        return Mono.fromSupplier(() -> {
            ServerBinding b = cache.get(uuid).orElseThrow(() -> new BindingNotFoundException(uuid));
            ServerBinding.Siderolink next = update.apply(b.siderolink());
            if (next.equals(b.siderolink())) {
                return b;
            }
            failIfAsked(uuid);
            ServerBinding updated = new ServerBinding(uuid, next, b.metalMachineRef(), b.clusterName(), null, b.conditions(), b.addresses(), b.hostname());
            cache.put(updated);
            return updated;
        });
    }

    @Override
    public Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<Condition>> update) {
        return Mono.fromSupplier(() -> {
            ServerBinding b = cache.get(uuid).orElseThrow(() -> new BindingNotFoundException(uuid));
            List<Condition> next = update.apply(b.conditions());
            if (next.equals(b.conditions())) {
                return b;
            }
            failIfAsked(uuid);
            conditionWrites.incrementAndGet();
            ServerBinding updated = b.withReport(new NodeReport(next, b.addresses(), b.hostname()));
            cache.put(updated);
            return updated;
        });
    }

    @Override
    public Mono<ServerBinding> updateReport(String uuid, UnaryOperator<NodeReport> update) {
        return Mono.fromSupplier(() -> {
            ServerBinding b = cache.get(uuid).orElseThrow(() -> new BindingNotFoundException(uuid));
            NodeReport next = update.apply(b.report());
            if (next.equals(b.report())) {
                return b;
            }
            failIfAsked(uuid);
            reportWrites.incrementAndGet();
            ServerBinding updated = b.withReport(next);
            cache.put(updated);
            return updated;
        });
    }

    @Override
    public Mono<Boolean> updateMetalMachineStatus(MetalMachine.Key key, UnaryOperator<MetalMachineStatus> update) {
        return Mono.fromSupplier(() -> {
            MetalMachineStatus current = metalMachineStatus(key.namespace(), key.name());
            if (current == null) {
                return false;
            }
            MetalMachineStatus next = update.apply(current);
            if (next.equals(current)) {
                return true;
            }
            failIfAsked("metal machine " + key);
            metalMachineWrites.incrementAndGet();
            metalMachineStatuses.put(key, next);
            return true;
        });
    }

    private void failIfAsked(String what) {
        if (failNextWrites.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
            throw new StoreUnavailableException("in-memory store: failing the write of " + what + " as the test asked", null);
        }
    }

    @Override
    public boolean isSynced() {
        return true;
    }
}
