package dev.siderolink.server.inventory;

import dev.siderolink.server.installation.SiderolinkNetwork;
import inet.ipaddr.ipv6.IPv6Address;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * The in-memory view both stores keep: bindings by UUID, an index by tunnel address, and a hot
 * stream of changes. Writers call {@link #put}/{@link #remove}; readers never block.
 */
public final class BindingCache {

    private final Map<String, ServerBinding> byUuid = new ConcurrentHashMap<>();
    private final Map<IPv6Address, String> uuidByAddress = new ConcurrentHashMap<>();
    // Listeners that fall behind lose events rather than block the writer; they reconcile from
    // snapshots anyway (full-state reconcilers), so a lost event costs latency, not correctness.
    private final Sinks.Many<BindingEvent> events = Sinks.many().multicast().directBestEffort();

    public void put(ServerBinding binding) {
        // Index first: whoever sees the binding must also see its address as assigned.
        Optional<IPv6Address> address = SiderolinkNetwork.parseStored(binding.siderolink().address());
        address.ifPresent(a -> uuidByAddress.put(a, binding.uuid()));
        ServerBinding previous = byUuid.put(binding.uuid(), binding);
        if (previous != null && !SiderolinkNetwork.parseStored(previous.siderolink().address()).equals(address)) {
            unindex(previous);
        }
        if (!Objects.equals(previous, binding)) {
            emit(new BindingEvent(previous == null ? Change.ADDED : Change.MODIFIED, binding));
        }
    }

    public void remove(String uuid) {
        ServerBinding previous = byUuid.remove(uuid);
        if (previous != null) {
            unindex(previous);
            emit(new BindingEvent(Change.DELETED, previous));
        }
    }

    private void unindex(ServerBinding binding) {
        SiderolinkNetwork.parseStored(binding.siderolink().address()).ifPresent(a -> uuidByAddress.remove(a, binding.uuid()));
    }

    private void emit(BindingEvent event) {
        synchronized (events) { // Sinks need serialized emission; writers are on different threads
            events.tryEmitNext(event);
        }
    }

    public Optional<ServerBinding> get(String uuid) {
        return Optional.ofNullable(byUuid.get(uuid));
    }

    public Collection<ServerBinding> all() {
        return List.copyOf(byUuid.values());
    }

    public Collection<String> uuids() {
        return List.copyOf(byUuid.keySet());
    }

    public boolean isAssigned(IPv6Address address) {
        return uuidByAddress.containsKey(address.withoutPrefixLength());
    }

    public Flux<BindingEvent> events() {
        return events.asFlux();
    }
}
