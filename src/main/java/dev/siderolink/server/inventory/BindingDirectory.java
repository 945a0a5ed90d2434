package dev.siderolink.server.inventory;

import dev.siderolink.server.installation.SiderolinkNetwork;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * The cached lookup from a node's tunnel address to what is known about it ({@link Annotation}),
 * built from the store's ServerBindings and MetalMachines and kept current by their watches.
 *
 * <p>Every change of a binding or of a MetalMachine a binding points at recomputes the affected
 * entries from the store's cache (not from the event's payload), so the result does not depend on
 * the order events arrive in. A label or owner reference added later shows in the next lookup, a
 * deleted binding is really gone (unlike the reference, which keyed inserts and deletes
 * differently), and {@link #lookup} is a map read: it never blocks and never calls the API.
 */
public final class BindingDirectory implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BindingDirectory.class);

    /** A change of the annotation of one tunnel address; {@code annotation} is NONE when it was removed. */
    public record Update(InetAddress address, Annotation annotation) {}

    private final ResourceStore store;
    private final Map<AddressKey, Annotation> byAddress = new ConcurrentHashMap<>();
    // The rest is only touched under `this` (recompute), never by lookups.
    private final Map<String, AddressKey> addressByUuid = new HashMap<>();
    private final Map<String, MetalMachine.Key> metalMachineByUuid = new HashMap<>();
    private final Map<MetalMachine.Key, Set<String>> uuidsByMetalMachine = new HashMap<>();
    private final Sinks.Many<Update> updates = Sinks.many().multicast().directBestEffort();
    private final Disposable.Composite subscriptions = Disposables.composite();

    public BindingDirectory(ResourceStore store) {
        this.store = store;
        // Subscribe before the initial fill, so nothing that changes in between is missed.
        subscriptions.add(store.events().subscribe(e -> recompute(e.binding().uuid()), this::watchFailed));
        subscriptions.add(store.metalMachineEvents().subscribe(e -> metalMachineChanged(e.metalMachine().key()), this::watchFailed));
        for (ServerBinding binding : store.bindings()) {
            recompute(binding.uuid());
        }
    }

    private void watchFailed(Throwable error) {
        log.error("binding directory stopped following store changes: {}", error.toString(), error);
    }

    /** The annotation for a source address: {@link Annotation#NONE} when no binding holds it. */
    public Annotation lookup(InetAddress source) {
        AddressKey key = AddressKey.of(source);
        if (key == null) {
            return Annotation.NONE;
        }
        return byAddress.getOrDefault(key, Annotation.NONE);
    }

    /** Number of tunnel addresses with a binding. */
    public int size() {
        return byAddress.size();
    }

    /** Every change of an address's annotation, as it happens. Hot; slow subscribers miss updates. */
    public Flux<Update> updates() {
        return updates.asFlux();
    }

    private void metalMachineChanged(MetalMachine.Key key) {
        Set<String> uuids;
        synchronized (this) {
            uuids = Set.copyOf(uuidsByMetalMachine.getOrDefault(key, Set.of()));
        }
        uuids.forEach(this::recompute);
    }

    /** Brings the entries of binding {@code uuid} up to date with the store's cache. */
    private synchronized void recompute(String uuid) {
        Optional<ServerBinding> binding = store.binding(uuid);
        AddressKey oldAddress = addressByUuid.remove(uuid);
        MetalMachine.Key oldMetalMachine = metalMachineByUuid.remove(uuid);
        if (oldMetalMachine != null) {
            Set<String> users = uuidsByMetalMachine.get(oldMetalMachine);
            if (users != null && users.remove(uuid) && users.isEmpty()) {
                uuidsByMetalMachine.remove(oldMetalMachine);
            }
        }
        AddressKey newAddress = binding.flatMap(b -> SiderolinkNetwork.parseStored(b.siderolink().address()))
                .map(a -> AddressKey.of(a.getBytes()))
                .orElse(null);
        Annotation annotation = binding.map(this::annotate).orElse(Annotation.NONE);
        if (oldAddress != null && !oldAddress.equals(newAddress)) {
            // Only if the entry is still ours: another binding may hold the address by now.
            Annotation removed = byAddress.get(oldAddress);
            if (removed != null && uuid.equals(removed.serverUuid()) && byAddress.remove(oldAddress, removed)) {
                updates.tryEmitNext(new Update(oldAddress.toInetAddress(), Annotation.NONE));
                // A second binding with the same address (a hand edit) now gets the entry.
                addressByUuid.entrySet().stream()
                        .filter(e -> e.getValue().equals(oldAddress))
                        .map(Map.Entry::getKey)
                        .findFirst()
                        .ifPresent(other -> {
                            ServerBinding holder = store.binding(other).orElse(null);
                            if (holder != null) {
                                byAddress.put(oldAddress, annotate(holder));
                                updates.tryEmitNext(new Update(oldAddress.toInetAddress(), byAddress.get(oldAddress)));
                            }
                        });
            }
        }
        binding.map(ServerBinding::metalMachineRef).filter(ref -> ref.name() != null).ifPresent(ref -> {
            MetalMachine.Key key = new MetalMachine.Key(ref.namespace(), ref.name());
            metalMachineByUuid.put(uuid, key);
            uuidsByMetalMachine.computeIfAbsent(key, k -> new HashSet<>()).add(uuid);
        });
        if (newAddress != null) {
            addressByUuid.put(uuid, newAddress);
            Annotation previous = byAddress.put(newAddress, annotation);
            if (!Objects.equals(previous, annotation)) {
                updates.tryEmitNext(new Update(newAddress.toInetAddress(), annotation));
            }
        }
    }

    private Annotation annotate(ServerBinding binding) {
        ServerBinding.MetalMachineRef ref = binding.metalMachineRef();
        String namespace = ref == null ? null : ref.namespace();
        String metalMachine = ref == null ? null : ref.name();
        String machine = null;
        if (ref != null && ref.name() != null) {
            machine = store.metalMachine(new MetalMachine.Key(ref.namespace(), ref.name())).map(MetalMachine::machineName).orElse(null);
        }
        return new Annotation(binding.uuid(), namespace, metalMachine, machine, binding.clusterName());
    }

    /** Stops following the store; {@link #updates()} completes. Lookups keep answering from the last state. */
    @Override
    public void close() {
        subscriptions.dispose();
        synchronized (this) { // serialized with the emissions in recompute
            updates.tryEmitComplete();
        }
    }

    /** 16 address bytes as two longs: cheap to build from a packet's source and to hash. */
    record AddressKey(long high, long low) {
        static AddressKey of(InetAddress address) {
            if (!(address instanceof Inet6Address)) {
                return null; // tunnel addresses are IPv6; an IPv4 source has no binding
            }
            return of(address.getAddress());
        }

        static AddressKey of(byte[] bytes) {
            long high = 0;
            long low = 0;
            for (int i = 0; i < 8; i++) {
                high = (high << 8) | (bytes[i] & 0xff);
                low = (low << 8) | (bytes[i + 8] & 0xff);
            }
            return new AddressKey(high, low);
        }

        InetAddress toInetAddress() {
            byte[] bytes = new byte[16];
            for (int i = 0; i < 8; i++) {
                bytes[7 - i] = (byte) (high >>> (8 * i));
                bytes[15 - i] = (byte) (low >>> (8 * i));
            }
            try {
                return InetAddress.getByAddress(bytes);
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException(e); // 16 bytes is always a valid length
            }
        }
    }
}
