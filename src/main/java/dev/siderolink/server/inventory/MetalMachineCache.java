package dev.siderolink.server.inventory;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/** The in-memory view of MetalMachines both stores keep; readers never block. */
public final class MetalMachineCache {

    private final Map<MetalMachine.Key, MetalMachine> byKey = new ConcurrentHashMap<>();
    private final Sinks.Many<MetalMachineEvent> events = Sinks.many().multicast().directBestEffort();

    public void put(MetalMachine metalMachine) {
        MetalMachine previous = byKey.put(metalMachine.key(), metalMachine);
        if (!Objects.equals(previous, metalMachine)) {
            emit(new MetalMachineEvent(previous == null ? Change.ADDED : Change.MODIFIED, metalMachine));
        }
    }

    public void remove(MetalMachine.Key key) {
        MetalMachine previous = byKey.remove(key);
        if (previous != null) {
            emit(new MetalMachineEvent(Change.DELETED, previous));
        }
    }

    private void emit(MetalMachineEvent event) {
        synchronized (events) { // Sinks need serialized emission; writers are on different threads
            events.tryEmitNext(event);
        }
    }

    public Optional<MetalMachine> get(MetalMachine.Key key) {
        return Optional.ofNullable(byKey.get(key));
    }

    public Collection<MetalMachine> all() {
        return List.copyOf(byKey.values());
    }

    public Collection<MetalMachine.Key> keys() {
        return List.copyOf(byKey.keySet());
    }

    public Flux<MetalMachineEvent> events() {
        return events.asFlux();
    }
}
