package dev.siderolink.server.inventory.kubernetes;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.CachedResourceStore;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.ResourceNames;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.StoreUnavailableException;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.retry.Retry;

/**
 * {@link ResourceStore} on the Kubernetes API: two informers, ServerBindings (cluster-scoped) and
 * MetalMachines (all namespaces), fill the caches; writes go to the API.
 */
public class KubernetesResourceStore extends CachedResourceStore implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(KubernetesResourceStore.class);
    private static final int CONFLICT_RETRIES = 10;
    private static final Duration RESYNC = Duration.ofMinutes(10);

    private final KubernetesClient client;
    private final String namespace;
    private volatile SharedIndexInformer<GenericKubernetesResource> informer;
    private volatile SharedIndexInformer<GenericKubernetesResource> metalMachineInformer;

    public KubernetesResourceStore(KubernetesClient client, String namespace) {
        this.client = client;
        this.namespace = namespace;
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>> bindingsApi() {
        return client.genericKubernetesResources(ServerBindingResources.CONTEXT);
    }

    // ---- installation Secret ----

    @Override
    public Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator) {
        return Mono.fromCallable(() -> {
                    var secrets = client.secrets().inNamespace(namespace).withName(InstallationSecret.NAME);
                    Secret existing = secrets.get();
                    if (existing != null) {
                        return decode(existing);
                    }
                    InstallationSecret fresh = generator.get();
                    try {
                        client.secrets().inNamespace(namespace).resource(encode(fresh)).create();
                        log.info("created Secret {}/{} for a new SideroLink installation", namespace, InstallationSecret.NAME);
                        return fresh;
                    } catch (KubernetesClientException e) {
                        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                            throw e;
                        }
                        // Another replica created it between our get and create: use theirs.
                        Secret winner = secrets.get();
                        if (winner == null) {
                            throw new IllegalStateException("Secret " + namespace + "/" + InstallationSecret.NAME + " reported as existing but cannot be read");
                        }
                        return decode(winner);
                    }
                })
                .subscribeOn(Schedulers.boundedElastic());
    }

    private Secret encode(InstallationSecret secret) {
        Base64.Encoder b64 = Base64.getEncoder();
        return new SecretBuilder()
                .withNewMetadata()
                .withName(InstallationSecret.NAME)
                .withNamespace(namespace)
                .addToLabels("clusterctl.cluster.x-k8s.io/move", "")
                .endMetadata()
                .addToData(InstallationSecret.INSTALLATION_ID_KEY, b64.encodeToString(secret.installationId().getBytes(StandardCharsets.UTF_8)))
                .addToData(InstallationSecret.PRIVATE_KEY_KEY, b64.encodeToString(secret.privateKey().getBytes(StandardCharsets.UTF_8)))
                .build();
    }

    private InstallationSecret decode(Secret secret) {
        Map<String, String> data = secret.getData() == null ? Map.of() : secret.getData();
        return new InstallationSecret(decodeValue(data, InstallationSecret.INSTALLATION_ID_KEY), decodeValue(data, InstallationSecret.PRIVATE_KEY_KEY));
    }

    private String decodeValue(Map<String, String> data, String key) {
        String value = data.get(key);
        if (value == null) {
            throw new IllegalStateException("Secret " + namespace + "/" + InstallationSecret.NAME + " has no data." + key
                    + ": delete the Secret to start a new installation, or restore the key");
        }
        try {
            return new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("Secret " + namespace + "/" + InstallationSecret.NAME + " data." + key + " is not base64");
        }
    }

    // ---- ServerBindings ----

    @Override
    public Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update) {
        return guardedUpdate(uuid, false, current -> {
            ServerBinding.Siderolink now = ServerBindingResources.toBinding(current).siderolink();
            ServerBinding.Siderolink next = update.apply(now);
            return next.equals(now) ? null : ServerBindingResources.siderolinkPatch(next, current.getMetadata().getResourceVersion());
        });
    }

    @Override
    public Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<Condition>> update) {
        return guardedUpdate(uuid, true, current -> {
            List<Condition> now = ServerBindingResources.toBinding(current).conditions();
            List<Condition> next = update.apply(now);
            return next.equals(now) ? null : ServerBindingResources.conditionsPatch(next, current.getMetadata().getResourceVersion());
        });
    }

    /**
     * GET, compute a merge patch guarded by the resourceVersion read (null: nothing to change),
     * PATCH; a 409 means someone wrote in between: read again and recompute.
     */
    private Mono<ServerBinding> guardedUpdate(String uuid, boolean status, Function<GenericKubernetesResource, Map<String, Object>> patchFor) {
        ResourceNames.require(uuid);
        return Mono.fromCallable(() -> attemptUpdate(uuid, status, patchFor))
                .subscribeOn(Schedulers.boundedElastic())
                .retryWhen(Retry.backoff(CONFLICT_RETRIES, Duration.ofMillis(10))
                        .maxBackoff(Duration.ofMillis(500))
                        .filter(ConflictException.class::isInstance))
                .onErrorMap(Exceptions::isRetryExhausted,
                        e -> new StoreUnavailableException("server binding \"" + uuid + "\" kept changing under us ("
                                + CONFLICT_RETRIES + " conflicts in a row)", e.getCause()));
    }

    private ServerBinding attemptUpdate(String uuid, boolean status, Function<GenericKubernetesResource, Map<String, Object>> patchFor) {
        Resource<GenericKubernetesResource> resource = bindingsApi().withName(uuid);
        GenericKubernetesResource current;
        try {
            current = resource.get();
        } catch (KubernetesClientException e) {
            throw unavailable("read server binding \"" + uuid + "\"", e);
        }
        if (current == null) {
            throw new BindingNotFoundException(uuid);
        }
        Map<String, Object> patch = patchFor.apply(current);
        if (patch == null) {
            return ServerBindingResources.toBinding(current);
        }
        String json = client.getKubernetesSerialization().asJson(patch);
        try {
            var target = status ? resource.subresource("status") : resource;
            GenericKubernetesResource updated = target.patch(PatchContext.of(PatchType.JSON_MERGE), json);
            ServerBinding result = ServerBindingResources.toBinding(updated);
            cache.put(result);
            return result;
        } catch (KubernetesClientException e) {
            if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
                throw new ConflictException(e);
            }
            if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
                throw new BindingNotFoundException(uuid);
            }
            throw unavailable((status ? "patch the status of" : "patch") + " server binding \"" + uuid + "\"", e);
        }
    }

    private static StoreUnavailableException unavailable(String what, KubernetesClientException e) {
        String detail = e.getCode() > 0 ? "HTTP " + e.getCode() + ": " + e.getMessage() : String.valueOf(e.getMessage());
        return new StoreUnavailableException("Kubernetes API: cannot " + what + " (" + detail + ")", e);
    }

    /** A 409 from an optimistic-concurrency patch: re-read and try again. */
    static final class ConflictException extends RuntimeException {
        ConflictException(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** True once both informers (ServerBindings and MetalMachines) have listed everything. */
    @Override
    public boolean isSynced() {
        return hasSynced(informer) && hasSynced(metalMachineInformer);
    }

    private static boolean hasSynced(SharedIndexInformer<?> inf) {
        return inf != null && inf.hasSynced();
    }

    /** Whether both informers' watches are open; their initial lists (isSynced) can complete before. For tests. */
    boolean isWatching() {
        SharedIndexInformer<GenericKubernetesResource> bindings = informer;
        SharedIndexInformer<GenericKubernetesResource> metalMachines = metalMachineInformer;
        return bindings != null && bindings.isWatching() && metalMachines != null && metalMachines.isWatching();
    }

    // ---- informer lifecycle ----

    @Override
    public void start() {
        SharedIndexInformer<GenericKubernetesResource> inf = bindingsApi().runnableInformer(RESYNC.toMillis());
        inf.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(GenericKubernetesResource obj) {
                cache.put(ServerBindingResources.toBinding(obj));
            }

            @Override
            public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                cache.put(ServerBindingResources.toBinding(newObj));
            }

            @Override
            public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
                cache.remove(obj.getMetadata().getName());
            }
        });
        informer = inf;
        // Not waiting here: readiness reports the sync, and the informer retries by itself.
        inf.start().whenComplete((ok, error) -> {
            if (error != null) {
                log.warn("ServerBinding watch failed to start: {}", error.toString());
            } else {
                log.info("ServerBinding watch synced: {} bindings", cache.all().size());
            }
        });
        startMetalMachineInformer();
    }

    /**
     * MetalMachines in every namespace, for the Machine named in their owner references. The cache
     * compares our fields only, so status-only updates emit nothing.
     */
    private void startMetalMachineInformer() {
        SharedIndexInformer<GenericKubernetesResource> inf = client.genericKubernetesResources(MetalMachineResources.CONTEXT)
                .inAnyNamespace()
                .runnableInformer(RESYNC.toMillis());
        inf.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(GenericKubernetesResource obj) {
                metalMachineCache.put(MetalMachineResources.toMetalMachine(obj));
            }

            @Override
            public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
                metalMachineCache.put(MetalMachineResources.toMetalMachine(newObj));
            }

            @Override
            public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
                metalMachineCache.remove(new MetalMachine.Key(obj.getMetadata().getNamespace(), obj.getMetadata().getName()));
            }
        });
        metalMachineInformer = inf;
        inf.start().whenComplete((ok, error) -> {
            if (error != null) {
                log.warn("MetalMachine watch failed to start: {}", error.toString());
            } else {
                log.info("MetalMachine watch synced: {} metal machines", metalMachineCache.all().size());
            }
        });
    }

    @Override
    public void stop() {
        SharedIndexInformer<GenericKubernetesResource> inf = informer;
        if (inf != null) {
            inf.stop();
        }
        informer = null;
        SharedIndexInformer<GenericKubernetesResource> mmInf = metalMachineInformer;
        if (mmInf != null) {
            mmInf.stop();
        }
        metalMachineInformer = null;
    }

    @Override
    public boolean isRunning() {
        return informer != null;
    }

    @Override
    public int getPhase() {
        // Before the gRPC server (which starts late), so lookups see bindings as soon as it serves.
        return Integer.MIN_VALUE + 1000;
    }
}
