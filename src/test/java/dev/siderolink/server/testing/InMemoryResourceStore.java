package dev.siderolink.server.testing;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.CachedResourceStore;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.ServerBinding;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import reactor.core.publisher.Mono;

/** A {@link ResourceStore} in memory, for logic tests that need bindings but not a real store. */
public class InMemoryResourceStore extends CachedResourceStore {

    public final AtomicInteger conditionWrites = new AtomicInteger();

    public void put(String uuid, String address, String publicKey) {
        ServerBinding old = cache.get(uuid).orElse(null);
        cache.put(new ServerBinding(uuid, new ServerBinding.Siderolink(address, publicKey), null, null, null,
                old == null ? List.of() : old.conditions()));
    }

    public void remove(String uuid) {
        cache.remove(uuid);
    }

    /** Stores {@code binding} as it is (metalMachineRef, clusterName and conditions included). */
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

    public void removeMetalMachine(String namespace, String name) {
        metalMachineCache.remove(new MetalMachine.Key(namespace, name));
    }

    @Override
    public Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator) {
        return Mono.fromSupplier(generator);
    }

    @Override
    public Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update) {
        return Mono.fromSupplier(() -> {
            ServerBinding b = cache.get(uuid).orElseThrow(() -> new BindingNotFoundException(uuid));
            ServerBinding next = new ServerBinding(uuid, update.apply(b.siderolink()), b.metalMachineRef(), b.clusterName(), null, b.conditions());
            cache.put(next);
            return next;
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
            conditionWrites.incrementAndGet();
            ServerBinding updated = new ServerBinding(uuid, b.siderolink(), b.metalMachineRef(), b.clusterName(), null, next);
            cache.put(updated);
            return updated;
        });
    }

    @Override
    public boolean isSynced() {
        return true;
    }
}
