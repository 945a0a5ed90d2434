package dev.siderolink.server.inventory;

import dev.siderolink.server.installation.InstallationSecret;
import inet.ipaddr.ipv6.IPv6Address;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The port every part of the server uses to read and change ServerBindings and the installation
 * Secret. Methods returning {@link Mono}/{@link Flux} never block the subscriber's thread; the
 * cache readers ({@link #binding}, {@link #bindings}, {@link #isAddressAssigned}) never do I/O.
 */
public interface ResourceStore {

    /**
     * The installation Secret; when it does not exist yet, the one from {@code generator} is
     * stored. If another writer created it first, theirs is returned (AlreadyExists race).
     */
    Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator);

    /**
     * Another Secret of this installation, kept where the installation Secret is (kubernetes: a
     * Secret in the same namespace; standalone: {@code secret-<name>.yaml}, owner-only): its data,
     * decoded. When it does not exist yet, the data from {@code generator} is stored; if another
     * writer created it first, theirs is returned. Used for the Talos API CA.
     */
    Mono<Map<String, String>> loadOrCreateSecret(String name, Supplier<Map<String, String>> generator);

    /**
     * Atomically replaces {@code spec.siderolink} of binding {@code uuid} by {@code update(current)}.
     * Concurrent writers are serialised (optimistic concurrency with retry, or a lock): {@code update}
     * may run more than once and must be a pure function of its argument. Nothing is written when
     * the result equals the current value. Fails with {@link BindingNotFoundException} when the
     * binding does not exist and this store does not create bindings on demand, and with
     * {@link StoreUnavailableException} on transient trouble.
     */
    Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update);

    /**
     * Atomically replaces {@code status.conditions} of binding {@code uuid} by {@code update(current)}
     * (the status subresource in Kubernetes). Same concurrency and no-op rules as
     * {@link #updateSiderolink}; never creates a binding.
     */
    Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<Condition>> update);

    /**
     * Atomically replaces what events decide on binding {@code uuid}: {@code status.conditions},
     * {@code spec.addresses} and {@code spec.hostname}. Same concurrency and no-op rules as
     * {@link #updateSiderolink}; never creates a binding.
     */
    Mono<ServerBinding> updateReport(String uuid, UnaryOperator<NodeReport> update);

    /**
     * Atomically replaces the mirrored part of a MetalMachine's status. Emits false, writing
     * nothing, when the MetalMachine does not exist (it is Sidero's to create), which includes a key
     * that is not a valid namespace/name. Same concurrency and no-op rules as {@link #updateSiderolink}.
     */
    Mono<Boolean> updateMetalMachineStatus(MetalMachine.Key key, UnaryOperator<MetalMachineStatus> update);

    /**
     * The binding after a report update, and whether its MetalMachine was there to mirror it onto
     * ({@code null}: the binding names no MetalMachine).
     */
    record Mirrored(ServerBinding binding, Boolean metalMachineFound) {}

    /**
     * {@link #updateReport}, then {@link #updateMetalMachineStatus} of the MetalMachine the updated
     * binding names (if any) with {@code mirror(binding, current status)}. Completes once both are
     * stored. By default one after the other; a store may make both durable together.
     */
    default Mono<Mirrored> updateReportAndMirror(String uuid, UnaryOperator<NodeReport> update,
            BiFunction<ServerBinding, MetalMachineStatus, MetalMachineStatus> mirror) {
        return updateReport(uuid, update).flatMap(binding -> {
            MetalMachine.Key key = ServerBinding.metalMachineKey(binding);
            if (key == null) {
                return Mono.just(new Mirrored(binding, null));
            }
            return updateMetalMachineStatus(key, status -> mirror.apply(binding, status))
                    .map(found -> new Mirrored(binding, found));
        });
    }

    /** The cached binding, if known. */
    Optional<ServerBinding> binding(String uuid);

    /** A snapshot of all cached bindings. */
    Collection<ServerBinding> bindings();

    /** Whether some binding holds this tunnel address (the cache's address index). */
    boolean isAddressAssigned(IPv6Address address);

    /** Changes to bindings as they are seen, including changes made by others (watch). Hot. */
    Flux<BindingEvent> events();

    /** The cached MetalMachine, if known (never I/O). */
    Optional<MetalMachine> metalMachine(MetalMachine.Key key);

    /** A snapshot of all cached MetalMachines. */
    Collection<MetalMachine> metalMachines();

    /** Changes to MetalMachines as they are seen (watch). Hot. */
    Flux<MetalMachineEvent> metalMachineEvents();

    /**
     * True once the cache holds a complete view (informer synced, directory loaded). Stays true
     * through later outages: the cache then holds the last state seen, and the store catches up by
     * itself when its source is back.
     */
    boolean isSynced();

    /**
     * What {@code /actuator/health} shows about this store besides {@link #isSynced}: the state of
     * its watch, the last error seen, where it reads from. Never I/O; values are JSON-friendly.
     */
    default Map<String, Object> healthDetails() {
        return Map.of();
    }
}
