package dev.siderolink.server.inventory.kubernetes;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.CachedResourceStore;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ResourceNames;
import dev.siderolink.server.inventory.Secrets;
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
import io.fabric8.kubernetes.client.informers.ExceptionHandler;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.net.HttpURLConnection;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
    private final InformerErrors bindingErrors = new InformerErrors();
    private final InformerErrors metalMachineErrors = new InformerErrors();

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

    @Override
    public Mono<Map<String, String>> loadOrCreateSecret(String name, Supplier<Map<String, String>> generator) {
        return Mono.fromCallable(() -> {
                    var secrets = client.secrets().inNamespace(namespace).withName(name);
                    Secret existing = secrets.get();
                    if (existing != null) {
                        return decodeData(existing);
                    }
                    Map<String, String> fresh = generator.get();
                    Secret secret = Secrets.of(name, namespace, fresh);
                    try {
                        client.secrets().inNamespace(namespace).resource(secret).create();
                        log.info("created Secret {}/{}", namespace, name);
                        return fresh;
                    } catch (KubernetesClientException e) {
                        if (e.getCode() != HttpURLConnection.HTTP_CONFLICT) {
                            throw e;
                        }
                        Secret winner = secrets.get(); // another replica created it between our get and create
                        if (winner == null) {
                            throw new IllegalStateException("Secret " + namespace + "/" + name + " reported as existing but cannot be read");
                        }
                        return decodeData(winner);
                    }
                })
                .subscribeOn(Schedulers.boundedElastic());
    }

    private Map<String, String> decodeData(Secret secret) {
        Map<String, String> result = new java.util.TreeMap<>();
        if (secret.getData() != null) {
            secret.getData().forEach((key, value) -> {
                try {
                    result.put(key, new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));
                } catch (IllegalArgumentException e) {
                    throw new IllegalStateException("Secret " + namespace + "/" + secret.getMetadata().getName() + " data." + key + " is not base64");
                }
            });
        }
        return result;
    }

    private Secret encode(InstallationSecret secret) {
        return Secrets.of(InstallationSecret.NAME, namespace,
                Map.of(InstallationSecret.INSTALLATION_ID_KEY, secret.installationId(), InstallationSecret.PRIVATE_KEY_KEY, secret.privateKey()));
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
        return updateBinding(uuid, current -> {
            ServerBinding.Siderolink now = ServerBindingResources.toBinding(current).siderolink();
            ServerBinding.Siderolink next = update.apply(now);
            return next.equals(now) ? List.of() : List.of(Patch.spec(rv -> ServerBindingResources.siderolinkPatch(next, rv)));
        });
    }

    @Override
    public Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<Condition>> update) {
        return updateBinding(uuid, current -> {
            List<Condition> now = ServerBindingResources.toBinding(current).conditions();
            List<Condition> next = update.apply(now);
            return next.equals(now) ? List.of() : List.of(Patch.status(rv -> ServerBindingResources.conditionsPatch(next, rv)));
        });
    }

    /** Spec first ({@code addresses}, {@code hostname}), then the status subresource ({@code conditions}); each only when changed. */
    @Override
    public Mono<ServerBinding> updateReport(String uuid, UnaryOperator<NodeReport> update) {
        return updateBinding(uuid, current -> {
            NodeReport now = ServerBindingResources.toBinding(current).report();
            NodeReport next = update.apply(now);
            List<Patch> patches = new ArrayList<>(2);
            if (!Objects.equals(next.addresses(), now.addresses()) || !Objects.equals(next.hostname(), now.hostname())) {
                patches.add(Patch.spec(rv -> ServerBindingResources.reportSpecPatch(next, rv)));
            }
            if (!next.conditions().equals(now.conditions())) {
                patches.add(Patch.status(rv -> ServerBindingResources.reportStatusPatch(next, rv)));
            }
            return patches;
        });
    }

    /** {@link #guardedUpdate} on binding {@code uuid}: absent means BindingNotFoundException; what was written goes to the cache. */
    private Mono<ServerBinding> updateBinding(String uuid, Function<GenericKubernetesResource, List<Patch>> plan) {
        ResourceNames.require(uuid);
        return guardedUpdate("server binding \"" + uuid + "\"", bindingsApi(), uuid, plan)
                .map(outcome -> {
                    ServerBinding result = ServerBindingResources.toBinding(outcome.resource());
                    if (outcome.written()) {
                        cache.put(result);
                    }
                    return result;
                })
                .switchIfEmpty(Mono.error(() -> new BindingNotFoundException(uuid)));
    }

    // ---- MetalMachines ----

    /** Patches the status subresource; a key that is not a valid namespace/name cannot name a MetalMachine: false. */
    @Override
    public Mono<Boolean> updateMetalMachineStatus(MetalMachine.Key key, UnaryOperator<MetalMachineStatus> update) {
        if (ResourceNames.problem(key.namespace()) != null || ResourceNames.problem(key.name()) != null) {
            return Mono.just(false);
        }
        return guardedUpdate("metal machine " + key, client.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace(key.namespace()),
                key.name(), current -> {
                    MetalMachineStatus now = MetalMachineResources.toStatus(current);
                    MetalMachineStatus next = update.apply(now);
                    return next.equals(now) ? List.of() : List.of(Patch.status(rv -> MetalMachineResources.statusPatch(next, rv)));
                })
                .map(outcome -> true)
                .defaultIfEmpty(false);
    }

    // ---- optimistic concurrency ----

    /**
     * One JSON merge patch of a plan, on the object or on its status subresource, built for the
     * resourceVersion it must match.
     */
    private record Patch(boolean status, Function<String, Map<String, Object>> body) {
        static Patch spec(Function<String, Map<String, Object>> body) {
            return new Patch(false, body);
        }

        static Patch status(Function<String, Map<String, Object>> body) {
            return new Patch(true, body);
        }
    }

    /** The object after an update, and whether anything was written to get there. */
    private record Outcome(GenericKubernetesResource resource, boolean written) {}

    /**
     * GET object {@code name} of {@code api}, plan the merge patches from it (none: nothing to
     * change) and send them in order, each guarded by the resourceVersion the previous step
     * returned. A 409 means someone wrote in between: read again and plan again ({@code plan} is
     * pure, so the steps already done plan to nothing). Empty when the object does not exist (or is
     * deleted while we patch).
     */
    private Mono<Outcome> guardedUpdate(String what, NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> api, String name, Function<GenericKubernetesResource, List<Patch>> plan) {
        return Mono.fromCallable(() -> attemptUpdate(what, api, name, plan))
                .subscribeOn(Schedulers.boundedElastic())
                .retryWhen(Retry.backoff(CONFLICT_RETRIES, Duration.ofMillis(10))
                        .maxBackoff(Duration.ofMillis(500))
                        .filter(ConflictException.class::isInstance))
                .onErrorMap(Exceptions::isRetryExhausted,
                        e -> new StoreUnavailableException(what + " kept changing under us (" + CONFLICT_RETRIES + " conflicts in a row)", e.getCause()));
    }

    /** One read-plan-patch round; null (an empty Mono) when the object is missing. */
    private Outcome attemptUpdate(String what, NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> api, String name, Function<GenericKubernetesResource, List<Patch>> plan) {
        GenericKubernetesResource current;
        try {
            current = api.withName(name).get();
        } catch (KubernetesClientException e) {
            throw unavailable("read " + what, e);
        }
        if (current == null) {
            return null;
        }
        List<Patch> patches = plan.apply(current);
        for (Patch patch : patches) {
            String json = client.getKubernetesSerialization().asJson(patch.body().apply(current.getMetadata().getResourceVersion()));
            try {
                // Through the object just read: fabric8 then needs no GET of its own before the PATCH.
                Resource<GenericKubernetesResource> resource = api.resource(current);
                var target = patch.status() ? resource.subresource("status") : resource;
                current = target.patch(PatchContext.of(PatchType.JSON_MERGE), json);
            } catch (KubernetesClientException e) {
                if (e.getCode() == HttpURLConnection.HTTP_CONFLICT) {
                    throw new ConflictException(e);
                }
                if (e.getCode() == HttpURLConnection.HTTP_NOT_FOUND) {
                    return null;
                }
                throw unavailable((patch.status() ? "patch the status of " : "patch ") + what, e);
            }
        }
        return new Outcome(current, !patches.isEmpty());
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

    /**
     * Per informer: synced, watching, and the last list or watch error (with when it happened). A
     * watch that is not open after the sync is an outage the informer is recovering from: the
     * cache still holds what it last saw.
     */
    @Override
    public Map<String, Object> healthDetails() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("namespace", namespace);
        details.put("serverBindings", informerDetails(informer, bindingErrors));
        details.put("metalMachines", informerDetails(metalMachineInformer, metalMachineErrors));
        return details;
    }

    private static Map<String, Object> informerDetails(SharedIndexInformer<?> inf, InformerErrors errors) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("synced", hasSynced(inf));
        details.put("watching", inf != null && inf.isWatching());
        InformerErrors.Seen last = errors.last;
        if (last != null) {
            details.put("lastError", last.message());
            details.put("lastErrorAt", last.at().toString());
        }
        return details;
    }

    /**
     * fabric8's default gives up for good when the first list fails (an API server not reachable
     * yet, a missing RBAC rule), leaving a store that never syncs until a restart. Here every
     * failure is retried with fabric8's backoff (1 s doubling to 32 s): a fixed API server or RBAC
     * rule is picked up without a restart, and health shows the error meanwhile.
     */
    private static final class InformerErrors implements ExceptionHandler {
        record Seen(String message, Instant at) {}

        volatile Seen last;

        @Override
        public boolean retryAfterException(boolean started, Throwable t) {
            // fabric8 logs the failure (with "will retry") right after this returns
            String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
            last = new Seen(message.lines().findFirst().orElse(message), Instant.now());
            return true;
        }
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
        inf.exceptionHandler(bindingErrors);
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
        inf.exceptionHandler(metalMachineErrors);
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
