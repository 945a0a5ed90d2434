package dev.siderolink.server.provision;

import dev.siderolink.api.link.ProvisionRequest;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.InvalidKeyException;
import dev.siderolink.server.installation.NodeAddressAllocator;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.installation.WireGuardKey;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.ResourceNames;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.StoreUnavailableException;
import inet.ipaddr.ipv6.IPv6Address;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * The Provision rules, as the reference server has them and better:
 *
 * <ol>
 *   <li>join token (when configured) checked first, in constant time: PERMISSION_DENIED;
 *   <li>{@code node_uuid} must be a valid resource name, {@code node_public_key} a WireGuard key:
 *       INVALID_ARGUMENT saying what is wrong;
 *   <li>the binding must exist (or be auto-accepted by the standalone store): NOT_FOUND;
 *   <li>a binding that already has a valid address in this installation's prefix keeps it (a
 *       rebooted node gets the same address with its new key); otherwise a new address that no
 *       other binding holds is assigned;
 *   <li>address and key are written in one optimistic-concurrency update, so concurrent calls for
 *       one UUID end with one address and the last key.
 * </ol>
 */
public class Provisioner {

    private static final Logger log = LoggerFactory.getLogger(Provisioner.class);
    /**
     * Talos gives a Provision call 30 s; answering UNAVAILABLE well before that lets the node
     * retry cleanly instead of timing out, and frees the worker held by a slow API.
     */
    static final Duration STORE_TIMEOUT = Duration.ofSeconds(20);

    private final ResourceStore store;
    private final InstallationIdentity identity;
    private final NodeAddressAllocator allocator;
    private final List<String> endpointsOnWire;
    private final byte[] joinToken;
    private final ProvisionMetrics metrics;
    private final Consumer<NodeProvisioned> listener;

    public Provisioner(ResourceStore store, InstallationIdentity identity, NodeAddressAllocator allocator,
            List<String> endpointsOnWire, ProvisionProperties properties, ProvisionMetrics metrics) {
        this(store, identity, allocator, endpointsOnWire, properties, metrics, event -> {});
    }

    public Provisioner(ResourceStore store, InstallationIdentity identity, NodeAddressAllocator allocator,
            List<String> endpointsOnWire, ProvisionProperties properties, ProvisionMetrics metrics, Consumer<NodeProvisioned> listener) {
        this.store = store;
        this.identity = identity;
        this.allocator = allocator;
        this.endpointsOnWire = List.copyOf(endpointsOnWire);
        this.joinToken = properties.requiresJoinToken() ? properties.joinToken().getBytes(StandardCharsets.UTF_8) : null;
        this.metrics = metrics;
        this.listener = listener;
    }

    /** What the update decided on its last (committed) run. */
    private static final class Decision {
        volatile boolean newAddress;
        volatile boolean keyChanged;
    }

    public Mono<ProvisionResponse> provision(ProvisionRequest request) {
        return Mono.defer(() -> {
            checkJoinToken(request);
            String uuid = request.getNodeUuid();
            String nameProblem = ResourceNames.problem(uuid);
            if (nameProblem != null) {
                throw new ProvisionRefusal(Status.Code.INVALID_ARGUMENT, "node_uuid " + nameProblem, "node_uuid " + nameProblem);
            }
            WireGuardKey nodeKey;
            try {
                nodeKey = WireGuardKey.parsePublic(request.getNodePublicKey(), "node_public_key");
            } catch (InvalidKeyException e) {
                throw new ProvisionRefusal(Status.Code.INVALID_ARGUMENT, e.getMessage(), e.getMessage());
            }
            String key = nodeKey.toBase64();
            Set<IPv6Address> reservations = ConcurrentHashMap.newKeySet();
            Decision decision = new Decision();
            return store.updateSiderolink(uuid, current -> {
                        decision.keyChanged = current.publicKey() != null && !current.publicKey().equals(key);
                        Optional<IPv6Address> kept = usableAddress(uuid, current.address());
                        decision.newAddress = kept.isEmpty();
                        IPv6Address address = kept.orElseGet(() -> {
                            IPv6Address fresh = allocator.reserve(store::isAddressAssigned);
                            reservations.add(fresh);
                            return fresh;
                        });
                        return new ServerBinding.Siderolink(SiderolinkNetwork.withPrefixLength(address), key);
                    })
                    .timeout(STORE_TIMEOUT, Mono.error(() -> new StoreUnavailableException(
                            "no answer from the state store within " + STORE_TIMEOUT.toSeconds() + " s", null)))
                    .map(binding -> {
                        if (decision.newAddress) {
                            metrics.addressAssigned();
                        }
                        if (decision.keyChanged) {
                            metrics.keyChanged();
                        }
                        ProvisionResponse response = response(binding);
                        listener.accept(new NodeProvisioned(uuid, response.getNodeAddressPrefix()));
                        return response;
                    })
                    // released only after the write: until then the cache does not know the address
                    .doFinally(signal -> reservations.forEach(allocator::release));
        }).onErrorMap(this::refusal);
    }

    private void checkJoinToken(ProvisionRequest request) {
        if (joinToken == null) {
            return;
        }
        if (!request.hasJoinToken() || request.getJoinToken().isEmpty()) {
            throw new ProvisionRefusal(Status.Code.PERMISSION_DENIED, "invalid join token", "no join token in the request (siderolink.provision.join-token is set)");
        }
        if (!MessageDigest.isEqual(joinToken, request.getJoinToken().getBytes(StandardCharsets.UTF_8))) {
            throw new ProvisionRefusal(Status.Code.PERMISSION_DENIED, "invalid join token", "wrong join token");
        }
    }

    /** The stored address if it is a valid address of this installation's prefix. */
    private Optional<IPv6Address> usableAddress(String uuid, String stored) {
        if (stored == null) {
            return Optional.empty();
        }
        Optional<IPv6Address> parsed = SiderolinkNetwork.parseStored(stored);
        if (parsed.isEmpty() || !identity.network().contains(parsed.get()) || parsed.get().equals(identity.network().serverAddress())) {
            log.warn("server binding {} has spec.siderolink.address \"{}\", which is not a node address in {}; assigning a new one",
                    uuid, stored, identity.network());
            return Optional.empty();
        }
        return parsed;
    }

    private ProvisionResponse response(ServerBinding binding) {
        IPv6Address address = SiderolinkNetwork.parseStored(binding.siderolink().address()).orElseThrow();
        return ProvisionResponse.newBuilder()
                .addAllServerEndpoint(endpointsOnWire)
                .setServerPublicKey(identity.publicKey().toBase64())
                .setNodeAddressPrefix(SiderolinkNetwork.withPrefixLength(address))
                .setServerAddress(identity.network().serverAddress().toCompressedString())
                .build();
    }

    private Throwable refusal(Throwable error) {
        if (error instanceof ProvisionRefusal) {
            return error;
        }
        if (error instanceof BindingNotFoundException notFound) {
            return new ProvisionRefusal(Status.Code.NOT_FOUND, notFound.getMessage(),
                    "no ServerBinding named by this UUID (create one, or enable siderolink.standalone.auto-accept)");
        }
        if (error instanceof StoreUnavailableException unavailable) {
            return new ProvisionRefusal(Status.Code.UNAVAILABLE, "state store unavailable, retry later", unavailable.getMessage());
        }
        log.error("provision failed unexpectedly", error);
        return new ProvisionRefusal(Status.Code.INTERNAL, "internal error", error.toString());
    }
}
