package dev.siderolink.server.inventory.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.talosapi.TalosPki;
import dev.siderolink.server.inventory.BindingEvent;
import dev.siderolink.server.inventory.Change;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineEvent;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.StoreUnavailableException;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv6.IPv6Address;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.NonNamespaceOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import reactor.test.StepVerifier;

/**
 * {@link KubernetesResourceStore} against fabric8's mock API server in CRUD mode, with the
 * project's CRDs loaded.
 *
 * <p>What the mock does with a stale {@code metadata.resourceVersion} in a JSON merge patch (checked
 * by {@link #mockRejectsMergePatchWithStaleResourceVersion}): it answers 409 Conflict, like a real API
 * server, so the store's optimistic concurrency can be tested here. Merge patches themselves are
 * applied as a real API server does ({@link MergePatchCrudDispatcher}: lists replaced, null removes).
 */
@Timeout(30)
class KubernetesResourceStoreTest {

    private static final String NAMESPACE = "sidero-system";
    private static final String PREFIX = "fdae:2859:5bb1:7a03:";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesResourceStore store;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void startMock() {
        server = Crds.crudServer(new MergePatchCrudDispatcher());
        client = server.createClient();
        store = new KubernetesResourceStore(client, NAMESPACE);
    }

    @AfterEach
    void stopMock() throws Exception {
        store.stop();
        for (AutoCloseable closeable : closeables) {
            closeable.close();
        }
        client.close();
        server.destroy();
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>> bindingsApi() {
        return client.genericKubernetesResources(ServerBindingResources.CONTEXT);
    }

    // ---- installation Secret ----

    @Test
    void createsInstallationSecretWhenAbsent() {
        InstallationSecret generated = new InstallationSecret(randomKey(), randomKey());

        InstallationSecret returned = store.loadOrCreateInstallationSecret(() -> generated).block(Duration.ofSeconds(10));

        assertThat(returned).isEqualTo(generated);
        Secret stored = client.secrets().inNamespace(NAMESPACE).withName("siderolink").get();
        assertThat(stored).isNotNull();
        assertThat(stored.getMetadata().getLabels()).containsEntry("clusterctl.cluster.x-k8s.io/move", "");
        assertThat(stored.getData())
                .containsEntry("installation-id", base64(generated.installationId()))
                .containsEntry("private-key", base64(generated.privateKey()));
    }

    @Test
    void readsExistingInstallationSecretWithoutCallingGenerator() {
        InstallationSecret existing = new InstallationSecret(randomKey(), randomKey());
        client.secrets().inNamespace(NAMESPACE).resource(secret(existing)).create();

        InstallationSecret returned = store.loadOrCreateInstallationSecret(() -> fail("generator called although the Secret exists"))
                .block(Duration.ofSeconds(10));

        assertThat(returned).isEqualTo(existing);
    }

    @Test
    void returnsWinnersSecretWhenAnotherReplicaCreatesItFirst() {
        InstallationSecret winner = new InstallationSecret(randomKey(), randomKey());
        InstallationSecret loser = new InstallationSecret(randomKey(), randomKey());

        // The other replica creates the Secret between our get and our create: our create gets 409.
        InstallationSecret returned = store.loadOrCreateInstallationSecret(() -> {
                    client.secrets().inNamespace(NAMESPACE).resource(secret(winner)).create();
                    return loser;
                })
                .block(Duration.ofSeconds(10));

        assertThat(returned).isEqualTo(winner);
        Secret stored = client.secrets().inNamespace(NAMESPACE).withName("siderolink").get();
        assertThat(stored.getData()).containsEntry("private-key", base64(winner.privateKey()));
    }

    // ---- other installation Secrets (the Talos API CA) ----

    @Test
    void talosApiCaIsCreatedOnceAndReusedByTheNextStart() {
        var generated = TalosPki.toSecretData(TalosPki.newCa("test", RANDOM, java.time.Clock.systemUTC()));

        var created = store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> generated).block(Duration.ofSeconds(10));

        assertThat(created).isEqualTo(generated);
        Secret stored = client.secrets().inNamespace(NAMESPACE).withName(TalosPki.SECRET_NAME).get();
        assertThat(stored.getMetadata().getLabels()).containsEntry("clusterctl.cluster.x-k8s.io/move", "");
        assertThat(stored.getData()).containsEntry(TalosPki.CERT_KEY, base64(generated.get(TalosPki.CERT_KEY)));
        KubernetesResourceStore restarted = new KubernetesResourceStore(client, NAMESPACE);
        var loaded = restarted.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> fail("generator called although the CA exists")).block(Duration.ofSeconds(10));
        assertThat(TalosPki.fromSecretData(loaded).certificate()).isEqualTo(TalosPki.fromSecretData(generated).certificate());
    }

    @Test
    void talosApiCaOfAReplicaThatCreatedItFirstWins() {
        var winner = TalosPki.toSecretData(TalosPki.newCa("winner", RANDOM, java.time.Clock.systemUTC()));
        var loser = TalosPki.toSecretData(TalosPki.newCa("loser", RANDOM, java.time.Clock.systemUTC()));

        var returned = store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> {
                    store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> winner).block(Duration.ofSeconds(10));
                    return loser;
                })
                .block(Duration.ofSeconds(10));

        assertThat(returned).isEqualTo(winner);
    }

    // ---- updateSiderolink ----

    @Test
    void mockRejectsMergePatchWithStaleResourceVersion() {
        // Not a test of our code: it pins the mock behaviour the concurrency tests below rely on.
        String uuid = newUuid();
        String staleVersion = createBinding(uuid, null).getMetadata().getResourceVersion();
        bindingsApi().withName(uuid).edit(r -> withLabel(r, "touched", "yes"));

        assertThatThrownBy(() -> bindingsApi().withName(uuid).patch(
                        PatchContext.of(PatchType.JSON_MERGE),
                        "{\"metadata\":{\"resourceVersion\":\"" + staleVersion + "\"},\"spec\":{\"hostname\":\"x\"}}"))
                .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));
    }

    @Test
    void mockAppliesMergePatchListsAndNullsAsAnApiServerDoes() {
        // Not a test of our code: it pins the MergePatchCrudDispatcher behaviour the report tests rely on.
        String uuid = newUuid();
        createBinding(uuid, null);
        bindingsApi().withName(uuid).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"addresses\":[\"a\",\"b\"],\"hostname\":\"x\"}}");

        bindingsApi().withName(uuid).patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"addresses\":[\"c\"],\"hostname\":null}}");

        @SuppressWarnings("unchecked") Map<String, Object> spec = (Map<String, Object>) bindingsApi().withName(uuid).get().getAdditionalProperties().get("spec");
        assertThat(spec).containsEntry("addresses", List.of("c")).doesNotContainKey("hostname");
    }

    @Test
    void failsWithBindingNotFoundForUnknownUuid() {
        String uuid = newUuid();

        StepVerifier.create(store.updateSiderolink(uuid, keepOrAllocate(randomKey())))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(BindingNotFoundException.class)
                        .hasMessage("server binding \"" + uuid + "\" not found"))
                .verify(Duration.ofSeconds(10));
        assertThat(bindingsApi().withName(uuid).get()).as("no binding is created in the kubernetes store").isNull();
    }

    @Test
    void setsSiderolinkAndKeepsOtherSpecFieldsLabelsAndStatus() {
        String uuid = newUuid();
        createBinding(uuid, """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: ServerBinding
                metadata:
                  name: %s
                  labels:
                    cluster.x-k8s.io/cluster-name: management
                    team: metal
                  annotations:
                    note: keep me
                spec:
                  metalMachineRef:
                    namespace: default
                    name: worker-1
                  hostname: node-1
                  addresses: ["10.5.0.3"]
                  somethingSideroAddsLater:
                    nested: 42
                """.formatted(uuid));
        bindingsApi().withName(uuid).editStatus(r -> {
            r.setAdditionalProperty("status", Map.of("ready", true));
            return r;
        });
        String key = randomKey();
        String address = randomAddress();

        ServerBinding result = store.updateSiderolink(uuid, current -> new ServerBinding.Siderolink(address, key)).block(Duration.ofSeconds(10));

        assertThat(result.siderolink()).isEqualTo(new ServerBinding.Siderolink(address, key));
        assertThat(result.metalMachineRef()).isEqualTo(new ServerBinding.MetalMachineRef("default", "worker-1"));
        assertThat(result.clusterName()).isEqualTo("management");
        GenericKubernetesResource stored = bindingsApi().withName(uuid).get();
        assertThat((Object) stored.get("spec", "siderolink", "address")).isEqualTo(address);
        assertThat((Object) stored.get("spec", "siderolink", "publicKey")).isEqualTo(key);
        assertThat((Object) stored.get("spec", "metalMachineRef", "name")).isEqualTo("worker-1");
        assertThat((Object) stored.get("spec", "metalMachineRef", "namespace")).isEqualTo("default");
        assertThat((Object) stored.get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) stored.get("spec", "addresses")).isEqualTo(List.of("10.5.0.3"));
        assertThat((Object) stored.get("spec", "somethingSideroAddsLater", "nested")).isEqualTo(42);
        assertThat((Object) stored.get("status", "ready")).isEqualTo(true);
        assertThat(stored.getMetadata().getLabels())
                .containsEntry("cluster.x-k8s.io/cluster-name", "management")
                .containsEntry("team", "metal");
        assertThat(stored.getMetadata().getAnnotations()).containsEntry("note", "keep me");
        assertThat(result.resourceVersion()).isEqualTo(stored.getMetadata().getResourceVersion());
    }

    @Test
    void keepsAddressAndReplacesKeyOnSecondUpdate() {
        String uuid = newUuid();
        createBinding(uuid, null);
        ServerBinding first = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(Duration.ofSeconds(10));
        String secondKey = randomKey();

        ServerBinding second = store.updateSiderolink(uuid, keepOrAllocate(secondKey)).block(Duration.ofSeconds(10));

        assertThat(second.siderolink()).isEqualTo(new ServerBinding.Siderolink(first.siderolink().address(), secondKey));
        assertThat(store.binding(uuid)).contains(second);
    }

    @Test
    void noOpUpdateDoesNotWrite() throws InterruptedException {
        String uuid = newUuid();
        createBinding(uuid, null);
        ServerBinding written = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(Duration.ofSeconds(10));
        drainRequests();

        ServerBinding again = store.updateSiderolink(uuid, UnaryOperator.identity()).block(Duration.ofSeconds(10));

        assertThat(drainRequests()).as("HTTP methods sent for a no-op update").doesNotContain("PATCH", "PUT", "POST");
        assertThat(again).isEqualTo(written);
        assertThat(bindingsApi().withName(uuid).get().getMetadata().getResourceVersion()).isEqualTo(written.resourceVersion());
    }

    @Test
    void retriesStaleWriteInsteadOfLosingTheOtherWritersAddress() {
        String uuid = newUuid();
        createBinding(uuid, null);
        String othersAddress = randomAddress();
        String ourKey = randomKey();
        List<ServerBinding.Siderolink> seen = new CopyOnWriteArrayList<>();
        AtomicBoolean interfered = new AtomicBoolean();

        ServerBinding result = store.updateSiderolink(uuid, current -> {
                    seen.add(current);
                    if (interfered.compareAndSet(false, true)) {
                        // Another replica stores an address between our read and our write.
                        bindingsApi().withName(uuid).edit(r -> {
                            ServerBindingResources.setSiderolink(r, new ServerBinding.Siderolink(othersAddress, randomKey()));
                            return r;
                        });
                    }
                    return keepOrAllocate(ourKey).apply(current);
                })
                .block(Duration.ofSeconds(10));

        assertThat(seen).hasSize(2);
        assertThat(seen.get(0).address()).isNull();
        assertThat(seen.get(1).address()).isEqualTo(othersAddress);
        assertThat(result.siderolink()).isEqualTo(new ServerBinding.Siderolink(othersAddress, ourKey));
        GenericKubernetesResource stored = bindingsApi().withName(uuid).get();
        assertThat((Object) stored.get("spec", "siderolink", "address")).isEqualTo(othersAddress);
        assertThat((Object) stored.get("spec", "siderolink", "publicKey")).isEqualTo(ourKey);
    }

    @Test
    void concurrentUpdatesOfOneBindingWriteExactlyOneAddress() throws Exception {
        String uuid = newUuid();
        createBinding(uuid, null);
        List<String> writtenAddresses = new CopyOnWriteArrayList<>();
        List<String> writtenVersions = new CopyOnWriteArrayList<>();
        Watch watch = bindingsApi().watch(new Watcher<>() {
            @Override
            public void eventReceived(Action action, GenericKubernetesResource resource) {
                if (uuid.equals(resource.getMetadata().getName())) {
                    Object address = resource.get("spec", "siderolink", "address");
                    if (address != null) {
                        writtenAddresses.add((String) address);
                    }
                    writtenVersions.add(resource.getMetadata().getResourceVersion());
                }
            }

            @Override
            public void onClose(WatcherException cause) {}
        });
        closeables.add(watch::close);
        int writers = 20;
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            keys.add(randomKey());
        }
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        closeables.add(pool::shutdownNow);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<ServerBinding>> results = new ArrayList<>();
        for (String key : keys) {
            results.add(pool.submit(() -> {
                go.await();
                return store.updateSiderolink(uuid, keepOrAllocate(key)).block(Duration.ofSeconds(20));
            }));
        }
        go.countDown();
        List<ServerBinding> bindings = new ArrayList<>();
        for (Future<ServerBinding> result : results) {
            bindings.add(result.get(25, TimeUnit.SECONDS));
        }

        GenericKubernetesResource stored = bindingsApi().withName(uuid).get();
        String finalAddress = (String) stored.get("spec", "siderolink", "address");
        String finalVersion = stored.getMetadata().getResourceVersion();
        awaitTrue(() -> writtenVersions.contains(finalVersion), "the watch sees the last write");
        assertThat(finalAddress).isNotNull();
        assertThat(Set.copyOf(writtenAddresses)).as("addresses ever written").containsExactly(finalAddress);
        assertThat(bindings).extracting(b -> b.siderolink().address()).containsOnly(finalAddress);
        assertThat(keys).contains((String) stored.get("spec", "siderolink", "publicKey"));
    }

    // ---- updateReport ----

    @Test
    void reportUpdateWritesAddressesAndHostnameToSpecAndConditionsToStatus() throws InterruptedException {
        String uuid = newUuid();
        createBinding(uuid, """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: ServerBinding
                metadata:
                  name: %s
                  labels:
                    cluster.x-k8s.io/cluster-name: management
                spec:
                  metalMachineRef:
                    namespace: default
                    name: worker-1
                  siderolink:
                    address: fdae:2859:5bb1:7a03::5/64
                    publicKey: node-key
                  somethingSideroAddsLater:
                    nested: 42
                """.formatted(uuid));
        bindingsApi().withName(uuid).editStatus(r -> {
            r.setAdditionalProperty("status", Map.of("ready", true,
                    "conditions", List.of(Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"))));
            return r;
        });
        drainRequests();

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(
                        Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3", "2001:db8::3"), "node-1"))
                .block(Duration.ofSeconds(10));

        assertThat(drainRequestLines()).as("one read, then the spec patch and the status patch guarded by the version the first returned")
                .containsExactly("GET /apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid,
                        "PATCH /apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid,
                        "PATCH /apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid + "/status");
        GenericKubernetesResource stored = bindingsApi().withName(uuid).get();
        assertThat((Object) stored.get("spec", "addresses")).isEqualTo(List.of("10.5.0.3", "2001:db8::3"));
        assertThat((Object) stored.get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) stored.get("status", "conditions")).isEqualTo(List.of(
                Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"),
                Map.of("type", "TalosInstalled", "status", "True", "lastTransitionTime", "2024-05-01T12:00:00Z")));
        assertThat((Object) stored.get("status", "ready")).isEqualTo(true);
        assertThat((Object) stored.get("spec", "siderolink", "address")).isEqualTo("fdae:2859:5bb1:7a03::5/64");
        assertThat((Object) stored.get("spec", "siderolink", "publicKey")).isEqualTo("node-key");
        assertThat((Object) stored.get("spec", "metalMachineRef", "name")).isEqualTo("worker-1");
        assertThat((Object) stored.get("spec", "somethingSideroAddsLater", "nested")).isEqualTo(42);
        assertThat(stored.getMetadata().getLabels()).containsEntry("cluster.x-k8s.io/cluster-name", "management");
        assertThat(result.addresses()).containsExactly("10.5.0.3", "2001:db8::3");
        assertThat(result.hostname()).isEqualTo("node-1");
        assertThat(result.conditions()).extracting(Condition::type).containsExactly("Ready", "TalosInstalled");
        assertThat(result.resourceVersion()).isEqualTo(stored.getMetadata().getResourceVersion());
        assertThat(store.binding(uuid)).contains(result);
    }

    @Test
    void reportUpdateOfConditionsOnlyPatchesOnlyTheStatus() throws InterruptedException {
        String uuid = newUuid();
        createBinding(uuid, null);
        store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(Duration.ofSeconds(10));
        drainRequests();

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(
                        Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), current.addresses(), current.hostname()))
                .block(Duration.ofSeconds(10));

        assertThat(drainRequestLines()).filteredOn(line -> line.startsWith("PATCH"))
                .containsExactly("PATCH /apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid + "/status");
        assertThat(result.report()).isEqualTo(new NodeReport(
                List.of(new Condition("TalosInstalled", "True", null, null, null, "2024-05-01T12:00:00Z")), List.of("10.5.0.3"), "node-1"));
    }

    @Test
    void reportUpdateWithNullHostnameAndAddressesClearsThem() {
        String uuid = newUuid();
        createBinding(uuid, null);
        store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(Duration.ofSeconds(10));

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(current.conditions(), null, null)).block(Duration.ofSeconds(10));

        assertThat(result.addresses()).isNull();
        assertThat(result.hostname()).isNull();
        @SuppressWarnings("unchecked") Map<String, Object> spec = (Map<String, Object>) bindingsApi().withName(uuid).get().getAdditionalProperties().get("spec");
        assertThat(spec).doesNotContainKeys("addresses", "hostname");
    }

    @Test
    void noOpReportUpdateDoesNotWrite() throws InterruptedException {
        String uuid = newUuid();
        createBinding(uuid, null);
        ServerBinding written = store.updateReport(uuid, current -> new NodeReport(
                        Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3"), "node-1"))
                .block(Duration.ofSeconds(10));
        drainRequests();

        ServerBinding again = store.updateReport(uuid, current -> new NodeReport(
                        Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW.plusSeconds(60)), List.of("10.5.0.3"), "node-1"))
                .block(Duration.ofSeconds(10));

        assertThat(drainRequests()).as("HTTP methods sent for a no-op update").doesNotContain("PATCH", "PUT", "POST");
        assertThat(again).isEqualTo(written);
        assertThat(bindingsApi().withName(uuid).get().getMetadata().getResourceVersion()).isEqualTo(written.resourceVersion());
    }

    @Test
    void reportUpdateRetriesWhenSideroWritesTheStatusInBetween() {
        String uuid = newUuid();
        createBinding(uuid, null);
        List<NodeReport> seen = new CopyOnWriteArrayList<>();
        AtomicBoolean interfered = new AtomicBoolean();

        ServerBinding result = store.updateReport(uuid, current -> {
                    seen.add(current);
                    if (interfered.compareAndSet(false, true)) {
                        // Sidero's controller sets its own condition between our read and our write.
                        bindingsApi().withName(uuid).editStatus(r -> {
                            ServerBindingResources.setConditions(r, List.of(new Condition("Ready", "True", null, null, null, "2024-05-01T10:00:00Z")));
                            return r;
                        });
                    }
                    return new NodeReport(Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3"), "node-1");
                })
                .block(Duration.ofSeconds(10));

        assertThat(seen).hasSize(2);
        assertThat(seen.get(1).conditions()).extracting(Condition::type).containsExactly("Ready");
        assertThat(result.conditions()).extracting(Condition::type).containsExactly("Ready", "TalosInstalled");
        GenericKubernetesResource stored = bindingsApi().withName(uuid).get();
        assertThat((Object) stored.get("status", "conditions", 0, "type")).isEqualTo("Ready");
        assertThat((Object) stored.get("status", "conditions", 1, "type")).isEqualTo("TalosInstalled");
        assertThat((Object) stored.get("spec", "hostname")).isEqualTo("node-1");
    }

    @Test
    void conflictBetweenSpecAndStatusPatchIsRetriedWithTheStatusOnly() {
        // A mock that lets someone else change the binding right after our spec patch lands.
        AtomicBoolean interfereAfterSpecPatch = new AtomicBoolean();
        String uuid = newUuid();
        List<String> patches = new CopyOnWriteArrayList<>();
        KubernetesMockServer racing = Crds.crudServer(new MergePatchCrudDispatcher() {
            @Override
            public MockResponse handlePatch(RecordedRequest request) {
                MockResponse response = super.handlePatch(request);
                patches.add(request.getPath());
                if (request.getPath().endsWith("/serverbindings/" + uuid) && interfereAfterSpecPatch.compareAndSet(true, false)) {
                    super.handlePatch(new RecordedRequest(request.getHttpVersion(), request.method(), request.getPath(), request.getHeaders(),
                            new io.fabric8.mockwebserver.http.Buffer().writeUtf8("{\"metadata\":{\"labels\":{\"touched\":\"yes\"}}}")));
                }
                return response;
            }
        });
        closeables.add(racing::destroy);
        KubernetesClient racingClient = racing.createClient();
        closeables.add(racingClient);
        racingClient.genericKubernetesResources(ServerBindingResources.CONTEXT).resource(ServerBindingResources.newBinding(uuid)).create();
        KubernetesResourceStore racingStore = new KubernetesResourceStore(racingClient, NAMESPACE);
        List<NodeReport> seen = new CopyOnWriteArrayList<>();
        interfereAfterSpecPatch.set(true);

        ServerBinding result = racingStore.updateReport(uuid, current -> {
                    seen.add(current);
                    return new NodeReport(Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3"), "node-1");
                })
                .block(Duration.ofSeconds(10));

        String path = "/apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid;
        assertThat(patches).as("spec, status (409), then the status again").containsExactly(path, path + "/status", path + "/status");
        assertThat(seen).hasSize(2);
        assertThat(seen.get(1).addresses()).as("the second round sees the spec written by the first").containsExactly("10.5.0.3");
        GenericKubernetesResource stored = racingClient.genericKubernetesResources(ServerBindingResources.CONTEXT).withName(uuid).get();
        assertThat(stored.getMetadata().getLabels()).containsEntry("touched", "yes");
        assertThat((Object) stored.get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) stored.get("status", "conditions", 0, "type")).isEqualTo("TalosInstalled");
        assertThat(result.resourceVersion()).isEqualTo(stored.getMetadata().getResourceVersion());
    }

    @Test
    void reportUpdateOfUnknownBindingFailsWithBindingNotFound() {
        String uuid = newUuid();

        StepVerifier.create(store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(BindingNotFoundException.class)
                        .hasMessage("server binding \"" + uuid + "\" not found"))
                .verify(Duration.ofSeconds(10));
        assertThat(bindingsApi().withName(uuid).get()).isNull();
    }

    // ---- updateMetalMachineStatus ----

    @Test
    void metalMachineStatusUpdateWritesConditionsAndAddressesAndKeepsTheRest() throws InterruptedException {
        String namespace = newNamespace();
        createMetalMachine(namespace, "worker-1", machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "worker-1-x7k2p"));
        metalMachinesApi(namespace).withName("worker-1").editStatus(r -> {
            r.setAdditionalProperty("status", Map.of("ready", true,
                    "conditions", List.of(Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"))));
            return r;
        });
        drainRequests();

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key(namespace, "worker-1"), status -> new MetalMachineStatus(
                        Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW),
                        List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3"), new MetalMachineStatus.Address("Hostname", "node-1"))))
                .block(Duration.ofSeconds(10));

        assertThat(found).isTrue();
        assertThat(drainRequestLines()).filteredOn(line -> line.startsWith("PATCH"))
                .containsExactly("PATCH /apis/infrastructure.cluster.x-k8s.io/v1alpha3/namespaces/" + namespace + "/metalmachines/worker-1/status");
        GenericKubernetesResource stored = metalMachinesApi(namespace).withName("worker-1").get();
        assertThat((Object) stored.get("status", "conditions")).isEqualTo(List.of(
                Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"),
                Map.of("type", "TalosInstalled", "status", "True", "lastTransitionTime", "2024-05-01T12:00:00Z")));
        assertThat((Object) stored.get("status", "addresses")).isEqualTo(List.of(
                Map.of("type", "InternalIP", "address", "10.5.0.3"), Map.of("type", "Hostname", "address", "node-1")));
        assertThat((Object) stored.get("status", "ready")).isEqualTo(true);
        assertThat((Object) stored.get("spec", "serverClassRef", "name")).isEqualTo("any");
        assertThat(stored.getMetadata().getOwnerReferences()).extracting(OwnerReference::getName).containsExactly("worker-1-x7k2p");
        assertThat(MetalMachineResources.toStatus(stored).conditions()).extracting(Condition::type).containsExactly("Ready", "TalosInstalled");
    }

    @Test
    void noOpMetalMachineStatusUpdateDoesNotWrite() throws InterruptedException {
        String namespace = newNamespace();
        createMetalMachine(namespace, "worker-1");
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");
        UnaryOperator<MetalMachineStatus> mirror = status -> new MetalMachineStatus(
                Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")));
        store.updateMetalMachineStatus(key, mirror).block(Duration.ofSeconds(10));
        String version = metalMachinesApi(namespace).withName("worker-1").get().getMetadata().getResourceVersion();
        drainRequests();

        Boolean found = store.updateMetalMachineStatus(key, mirror).block(Duration.ofSeconds(10));

        assertThat(found).isTrue();
        assertThat(drainRequests()).doesNotContain("PATCH", "PUT", "POST");
        assertThat(metalMachinesApi(namespace).withName("worker-1").get().getMetadata().getResourceVersion()).isEqualTo(version);
    }

    @Test
    void metalMachineStatusUpdateRetriesWhenSideroWritesInBetween() {
        String namespace = newNamespace();
        createMetalMachine(namespace, "worker-1");
        List<MetalMachineStatus> seen = new CopyOnWriteArrayList<>();
        AtomicBoolean interfered = new AtomicBoolean();

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key(namespace, "worker-1"), status -> {
                    seen.add(status);
                    if (interfered.compareAndSet(false, true)) {
                        metalMachinesApi(namespace).withName("worker-1").editStatus(r -> {
                            MetalMachineResources.setStatus(r, new MetalMachineStatus(
                                    List.of(new Condition("Ready", "False", "Info", "Provisioning", null, "2024-05-01T10:00:00Z")), null));
                            return r;
                        });
                    }
                    return new MetalMachineStatus(Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW), status.addresses());
                })
                .block(Duration.ofSeconds(10));

        assertThat(found).isTrue();
        assertThat(seen).hasSize(2);
        GenericKubernetesResource stored = metalMachinesApi(namespace).withName("worker-1").get();
        assertThat(MetalMachineResources.toStatus(stored).conditions()).extracting(Condition::type).containsExactly("Ready", "TalosInstalled");
        assertThat((Object) stored.get("status", "conditions", 0, "reason")).isEqualTo("Provisioning");
    }

    @Test
    void missingMetalMachineGivesFalseAndWritesNothing() throws InterruptedException {
        String namespace = newNamespace();
        drainRequests();

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key(namespace, "worker-1"),
                        status -> fail("update called although there is no MetalMachine"))
                .block(Duration.ofSeconds(10));

        assertThat(found).isFalse();
        assertThat(drainRequests()).containsOnly("GET");
        assertThat(metalMachinesApi(namespace).withName("worker-1").get()).isNull();
    }

    @Test
    void metalMachineKeyThatCannotNameOneGivesFalseWithoutAsking() throws InterruptedException {
        drainRequests();

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key(null, "worker-1"), status -> fail("update called")).block(Duration.ofSeconds(10));

        assertThat(found).isFalse();
        assertThat(drainRequests()).isEmpty();
    }

    @Test
    void serverErrorMakesMetalMachineStatusUpdateFailWithStoreUnavailable() {
        KubernetesMockServer failing = new KubernetesMockServer(false);
        failing.init();
        closeables.add(failing::destroy);
        failing.expect().get().withPath("/apis/infrastructure.cluster.x-k8s.io/v1alpha3/namespaces/default/metalmachines/worker-1")
                .andReturn(500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd is sad\"}")
                .always();
        KubernetesClient failingClient = quickClient(failing.url("/"));
        closeables.add(failingClient);
        KubernetesResourceStore failingStore = new KubernetesResourceStore(failingClient, NAMESPACE);

        StepVerifier.create(failingStore.updateMetalMachineStatus(new MetalMachine.Key("default", "worker-1"), UnaryOperator.identity()))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(StoreUnavailableException.class)
                        .hasMessageContaining("default/worker-1")
                        .hasMessageContaining("500"))
                .verify(Duration.ofSeconds(10));
    }

    // ---- informer ----

    @Test
    void informerFillsCacheWithExistingBindings() {
        String uuid = newUuid();
        String address = randomAddress();
        createBinding(uuid, null);
        store.updateSiderolink(uuid, c -> new ServerBinding.Siderolink(address, randomKey())).block(Duration.ofSeconds(10));
        KubernetesResourceStore fresh = new KubernetesResourceStore(client, NAMESPACE);
        assertThat(fresh.isSynced()).isFalse();

        fresh.start();
        try {
            awaitTrue(fresh::isSynced, "informer synced");
            assertThat(fresh.isRunning()).isTrue();
            assertThat(fresh.binding(uuid)).get().extracting(b -> b.siderolink().address()).isEqualTo(address);
            assertThat(fresh.isAddressAssigned(bare(address))).isTrue();
        } finally {
            fresh.stop();
        }
        assertThat(fresh.isRunning()).isFalse();
    }

    @Test
    void informerReportsBindingsAddedModifiedAndDeletedByOthers() {
        store.start();
        awaitTrue(store::isSynced, "informer synced");
        awaitTrue(store::isWatching, "informer watching"); // changes made before the watch opens may be missed by the mock
        String uuid = newUuid();
        String address = randomAddress();
        String key = randomKey();

        StepVerifier.create(store.events().filter(e -> e.binding().uuid().equals(uuid)))
                .then(() -> createBinding(uuid, null))
                .assertNext(e -> {
                    assertThat(e.type()).isEqualTo(Change.ADDED);
                    assertThat(store.binding(uuid)).isPresent();
                    assertThat(store.bindings()).extracting(ServerBinding::uuid).contains(uuid);
                })
                .then(() -> bindingsApi().withName(uuid).edit(r -> {
                    ServerBindingResources.setSiderolink(r, new ServerBinding.Siderolink(address, key));
                    return r;
                }))
                .assertNext(e -> {
                    assertThat(e.type()).isEqualTo(Change.MODIFIED);
                    assertThat(e.binding().siderolink()).isEqualTo(new ServerBinding.Siderolink(address, key));
                    assertThat(store.binding(uuid)).get().extracting(ServerBinding::siderolink).isEqualTo(e.binding().siderolink());
                    assertThat(store.isAddressAssigned(bare(address))).isTrue();
                })
                .then(() -> bindingsApi().withName(uuid).delete())
                .assertNext(e -> {
                    assertThat(e.type()).isEqualTo(Change.DELETED);
                    assertThat(e.binding().siderolink().address()).isEqualTo(address);
                    assertThat(store.binding(uuid)).isEmpty();
                    assertThat(store.bindings()).extracting(ServerBinding::uuid).doesNotContain(uuid);
                    assertThat(store.isAddressAssigned(bare(address))).as("a deleted binding's address is free").isFalse();
                })
                .thenCancel()
                .verify(Duration.ofSeconds(15));
    }

    // ---- MetalMachine informer ----

    @Test
    void metalMachineWithMachineOwnerShowsUpWithMachineName() {
        startAndAwaitWatching();
        String namespace = newNamespace();
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");

        createMetalMachine(namespace, "worker-1", machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "worker-1-x7k2p"));

        awaitTrue(() -> store.metalMachine(key).isPresent(), "MetalMachine cached");
        assertThat(store.metalMachine(key)).contains(new MetalMachine(namespace, "worker-1", "worker-1-x7k2p"));
        assertThat(store.metalMachines()).contains(new MetalMachine(namespace, "worker-1", "worker-1-x7k2p"));
    }

    @Test
    void informerFillsCacheWithExistingMetalMachinesOfEveryNamespace() {
        String one = newNamespace();
        String two = newNamespace();
        createMetalMachine(one, "worker-1", machineOwner("cluster.x-k8s.io/v1alpha3", "Machine", "machine-in-one"));
        createMetalMachine(two, "worker-1", machineOwner("cluster.x-k8s.io/v1alpha4", "Machine", "machine-in-two"));

        store.start();
        awaitTrue(store::isSynced, "informers synced");

        assertThat(store.metalMachine(new MetalMachine.Key(one, "worker-1"))).get().extracting(MetalMachine::machineName).isEqualTo("machine-in-one");
        assertThat(store.metalMachine(new MetalMachine.Key(two, "worker-1"))).get().extracting(MetalMachine::machineName).isEqualTo("machine-in-two");
    }

    @Test
    void machineOwnerInAnotherGroupIsIgnored() {
        startAndAwaitWatching();
        String namespace = newNamespace();
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");

        createMetalMachine(namespace, "worker-1",
                machineOwner("infrastructure.cluster.x-k8s.io/v1alpha3", "Machine", "wrong-group"),
                machineOwner("example.com/v1", "Machine", "other-project"),
                machineOwner("cluster.x-k8s.io/v1beta1", "MachineSet", "wrong-kind"));

        awaitTrue(() -> store.metalMachine(key).isPresent(), "MetalMachine cached");
        assertThat(store.metalMachine(key)).contains(new MetalMachine(namespace, "worker-1", null));
    }

    @Test
    void machineOwnerAddedLaterIsSeen() {
        startAndAwaitWatching();
        String namespace = newNamespace();
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");

        StepVerifier.create(store.metalMachineEvents().filter(e -> e.metalMachine().key().equals(key)))
                .then(() -> createMetalMachine(namespace, "worker-1"))
                .expectNext(new MetalMachineEvent(Change.ADDED, new MetalMachine(namespace, "worker-1", null)))
                .then(() -> metalMachinesApi(namespace).withName("worker-1").edit(r -> {
                    r.getMetadata().setOwnerReferences(List.of(machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "worker-1-x7k2p")));
                    return r;
                }))
                .assertNext(e -> {
                    assertThat(e).isEqualTo(new MetalMachineEvent(Change.MODIFIED, new MetalMachine(namespace, "worker-1", "worker-1-x7k2p")));
                    assertThat(store.metalMachine(key)).contains(e.metalMachine());
                })
                .thenCancel()
                .verify(Duration.ofSeconds(15));
    }

    @Test
    void metalMachineUpdateThatKeepsOurFieldsEmitsNoEvent() {
        startAndAwaitWatching();
        String namespace = newNamespace();
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");

        StepVerifier.create(store.metalMachineEvents().filter(e -> e.metalMachine().key().equals(key)))
                .then(() -> createMetalMachine(namespace, "worker-1", machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "first")))
                .assertNext(e -> assertThat(e.type()).isEqualTo(Change.ADDED))
                .then(() -> {
                    // What Sidero's controller does all the time: status and labels, same owner.
                    metalMachinesApi(namespace).withName("worker-1").editStatus(r -> {
                        r.setAdditionalProperty("status", Map.of("ready", true, "addresses", List.of(Map.of("type", "InternalIP", "address", "10.5.0.3"))));
                        return r;
                    });
                    metalMachinesApi(namespace).withName("worker-1").edit(r -> withLabel(r, "touched", "yes"));
                    // The one change that matters; its event must be the next one.
                    metalMachinesApi(namespace).withName("worker-1").edit(r -> {
                        r.getMetadata().setOwnerReferences(List.of(machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "second")));
                        return r;
                    });
                })
                .assertNext(e -> assertThat(e).isEqualTo(new MetalMachineEvent(Change.MODIFIED, new MetalMachine(namespace, "worker-1", "second"))))
                .thenCancel()
                .verify(Duration.ofSeconds(15));
    }

    @Test
    void deletedMetalMachineIsRemovedWithDeletedEvent() {
        startAndAwaitWatching();
        String namespace = newNamespace();
        MetalMachine.Key key = new MetalMachine.Key(namespace, "worker-1");
        MetalMachine expected = new MetalMachine(namespace, "worker-1", "worker-1-x7k2p");

        StepVerifier.create(store.metalMachineEvents().filter(e -> e.metalMachine().key().equals(key)))
                .then(() -> createMetalMachine(namespace, "worker-1", machineOwner("cluster.x-k8s.io/v1beta1", "Machine", "worker-1-x7k2p")))
                .expectNext(new MetalMachineEvent(Change.ADDED, expected))
                .then(() -> metalMachinesApi(namespace).withName("worker-1").delete())
                .assertNext(e -> {
                    assertThat(e).isEqualTo(new MetalMachineEvent(Change.DELETED, expected));
                    assertThat(store.metalMachine(key)).isEmpty();
                    assertThat(store.metalMachines()).doesNotContain(expected);
                })
                .thenCancel()
                .verify(Duration.ofSeconds(15));
    }

    @Test
    void isSyncedWaitsForBothInformers() {
        // A second mock whose MetalMachine list answers late: the ServerBinding informer syncs first.
        KubernetesMockServer slow = Crds.crudServer(new KubernetesCrudDispatcher() {
            @Override
            public MockResponse handleGet(String path) {
                MockResponse response = super.handleGet(path);
                return path.startsWith("/apis/" + MetalMachineResources.API_VERSION + "/metalmachines") ? response.setBodyDelay(Duration.ofSeconds(3)) : response;
            }
        });
        closeables.add(slow::destroy);
        KubernetesClient slowClient = slow.createClient();
        closeables.add(slowClient);
        String uuid = newUuid();
        slowClient.genericKubernetesResources(ServerBindingResources.CONTEXT).resource(ServerBindingResources.newBinding(uuid)).create();
        KubernetesResourceStore slowStore = new KubernetesResourceStore(slowClient, NAMESPACE);
        closeables.add(slowStore::stop);

        slowStore.start();

        awaitTrue(() -> slowStore.binding(uuid).isPresent(), "ServerBinding list processed");
        assertThat(slowStore.isSynced()).as("synced while the MetalMachine list is still under way").isFalse();
        awaitTrue(slowStore::isSynced, "both informers synced");
    }

    // ---- API errors ----

    @Test
    void serverErrorMakesUpdateFailWithStoreUnavailable() {
        KubernetesMockServer failing = new KubernetesMockServer(false);
        failing.init();
        closeables.add(failing::destroy);
        String uuid = newUuid();
        failing.expect().get().withPath("/apis/infrastructure.cluster.x-k8s.io/v1alpha3/serverbindings/" + uuid)
                .andReturn(500, "{\"kind\":\"Status\",\"code\":500,\"message\":\"etcd is sad\"}")
                .always();
        KubernetesClient failingClient = quickClient(failing.url("/"));
        closeables.add(failingClient);
        KubernetesResourceStore failingStore = new KubernetesResourceStore(failingClient, NAMESPACE);

        StepVerifier.create(failingStore.updateSiderolink(uuid, keepOrAllocate(randomKey())))
                .expectErrorSatisfies(e -> assertThat(e)
                        .isInstanceOf(StoreUnavailableException.class)
                        .hasMessageContaining(uuid)
                        .hasMessageContaining("500"))
                .verify(Duration.ofSeconds(10));
    }

    @Test
    void unreachableApiMakesUpdateFailWithStoreUnavailable() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        KubernetesClient unreachable = quickClient("http://127.0.0.1:" + closedPort + "/");
        closeables.add(unreachable);
        KubernetesResourceStore unreachableStore = new KubernetesResourceStore(unreachable, NAMESPACE);

        StepVerifier.create(unreachableStore.updateSiderolink(newUuid(), keepOrAllocate(randomKey())))
                .expectError(StoreUnavailableException.class)
                .verify(Duration.ofSeconds(10));
    }

    // ---- helpers ----

    private void startAndAwaitWatching() {
        store.start();
        awaitTrue(store::isSynced, "informers synced");
        awaitTrue(store::isWatching, "informers watching"); // changes made before the watch opens may be missed by the mock
    }

    private NonNamespaceOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>> metalMachinesApi(String namespace) {
        return client.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace(namespace);
    }

    private GenericKubernetesResource createMetalMachine(String namespace, String name, OwnerReference... owners) {
        GenericKubernetesResource resource = new GenericKubernetesResource();
        resource.setApiVersion(MetalMachineResources.API_VERSION);
        resource.setKind(MetalMachineResources.KIND);
        resource.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).withOwnerReferences(owners).build());
        resource.setAdditionalProperty("spec", Map.of("serverClassRef", Map.of("name", "any")));
        return metalMachinesApi(namespace).resource(resource).create();
    }

    private static OwnerReference machineOwner(String apiVersion, String kind, String name) {
        return new OwnerReferenceBuilder().withApiVersion(apiVersion).withKind(kind).withName(name).withUid(UUID.randomUUID().toString())
                .withController(true).withBlockOwnerDeletion(true).build();
    }

    private static String newNamespace() {
        return "mm-" + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE);
    }

    private static KubernetesClient quickClient(String url) {
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl(url)
                .withRequestRetryBackoffLimit(0)
                .withConnectionTimeout(2_000)
                .withRequestTimeout(2_000)
                .build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    private GenericKubernetesResource createBinding(String uuid, String yaml) {
        GenericKubernetesResource resource = yaml == null
                ? ServerBindingResources.newBinding(uuid)
                : client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
        return bindingsApi().resource(resource).create();
    }

    private static GenericKubernetesResource withLabel(GenericKubernetesResource resource, String key, String value) {
        Map<String, String> labels = resource.getMetadata().getLabels() == null ? new HashMap<>() : new HashMap<>(resource.getMetadata().getLabels());
        labels.put(key, value);
        resource.getMetadata().setLabels(labels);
        return resource;
    }

    private List<String> drainRequests() throws InterruptedException {
        List<String> methods = new ArrayList<>();
        RecordedRequest request;
        while ((request = server.takeRequest(50, TimeUnit.MILLISECONDS)) != null) {
            methods.add(request.getMethod());
        }
        return methods;
    }

    /** "METHOD path" of every request the main mock received since the last drain. */
    private List<String> drainRequestLines() throws InterruptedException {
        List<String> lines = new ArrayList<>();
        RecordedRequest request;
        while ((request = server.takeRequest(50, TimeUnit.MILLISECONDS)) != null) {
            lines.add(request.getMethod() + " " + request.getPath());
        }
        return lines;
    }

    private Secret secret(InstallationSecret values) {
        return new SecretBuilder()
                .withNewMetadata().withName("siderolink").withNamespace(NAMESPACE).endMetadata()
                .addToData("installation-id", base64(values.installationId()))
                .addToData("private-key", base64(values.privateKey()))
                .build();
    }

    /** The Provision rule: keep a stored address, else pick a new one; always take the new key. */
    private static UnaryOperator<ServerBinding.Siderolink> keepOrAllocate(String key) {
        return current -> new ServerBinding.Siderolink(current.address() != null ? current.address() : randomAddress(), key);
    }

    private static String newUuid() {
        return UUID.randomUUID().toString();
    }

    private static String randomKey() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    private static String randomAddress() {
        return PREFIX + String.join(":", List.of(hex16(), hex16(), hex16(), hex16())) + "/64";
    }

    private static String hex16() {
        return Integer.toHexString(RANDOM.nextInt(0x10000));
    }

    private static IPv6Address bare(String stored) {
        return new IPAddressString(stored).getAddress().toIPv6().withoutPrefixLength();
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        Awaitility.await(what).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(condition::getAsBoolean);
    }
}
