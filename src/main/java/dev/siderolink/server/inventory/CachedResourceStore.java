package dev.siderolink.server.inventory;

import inet.ipaddr.ipv6.IPv6Address;
import java.util.Collection;
import java.util.Optional;
import reactor.core.publisher.Flux;

/** The cache readers every store answers the same way: from its {@link BindingCache}, never with I/O. */
public abstract class CachedResourceStore implements ResourceStore {

    protected final BindingCache cache = new BindingCache();
    protected final MetalMachineCache metalMachineCache = new MetalMachineCache();

    @Override
    public final Optional<ServerBinding> binding(String uuid) {
        return cache.get(uuid);
    }

    @Override
    public final Collection<ServerBinding> bindings() {
        return cache.all();
    }

    @Override
    public final boolean isAddressAssigned(IPv6Address address) {
        return cache.isAssigned(address);
    }

    @Override
    public final Flux<BindingEvent> events() {
        return cache.events();
    }

    @Override
    public final Optional<MetalMachine> metalMachine(MetalMachine.Key key) {
        return metalMachineCache.get(key);
    }

    @Override
    public final Collection<MetalMachine> metalMachines() {
        return metalMachineCache.all();
    }

    @Override
    public final Flux<MetalMachineEvent> metalMachineEvents() {
        return metalMachineCache.events();
    }
}
