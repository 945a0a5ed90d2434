package dev.siderolink.server.inventory.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.BindingEvent;
import dev.siderolink.server.inventory.Change;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineEvent;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.StoreUnavailableException;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv6.IPv6Address;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;

/** {@link StandaloneResourceStore} on a real temporary directory. */
@Timeout(30)
class StandaloneResourceStoreTest {

    private static final String NAMESPACE = "sidero-system";
    private static final String PREFIX = "fdae:2859:5bb1:7a03:";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Instant NOW = Instant.parse("2024-05-01T12:00:00Z");

    @TempDir
    Path tmp;

    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<BindingEvent> events = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable closeable : closeables) {
            closeable.close();
        }
    }

    private Path stateDir() {
        return tmp.resolve("state");
    }

    private Path bindingsDir() {
        return stateDir().resolve("serverbindings");
    }

    private Path bindingFile(String uuid) {
        return bindingsDir().resolve(uuid + ".yaml");
    }

    private StandaloneResourceStore open(boolean autoAccept) {
        return track(new StandaloneResourceStore(stateDir(), NAMESPACE, autoAccept));
    }

    private StandaloneResourceStore open(boolean autoAccept, AtomicFiles files) {
        return track(new StandaloneResourceStore(stateDir(), NAMESPACE, autoAccept, files));
    }

    private StandaloneResourceStore track(StandaloneResourceStore store) {
        closeables.add(store);
        return store;
    }

    /** Records the store's events from now on into {@link #events}. */
    private void recordEvents(StandaloneResourceStore store) {
        Disposable subscription = store.events().subscribe(events::add);
        closeables.add(subscription::dispose);
    }

    // ---- installation Secret ----

    @Test
    void createsSecretFileOwnerOnlyInKubernetesSecretShape() throws IOException {
        StandaloneResourceStore store = open(true);
        InstallationSecret generated = new InstallationSecret(randomKey(), randomKey());

        InstallationSecret returned = store.loadOrCreateInstallationSecret(() -> generated).block(WAIT);

        assertThat(returned).isEqualTo(generated);
        Path file = stateDir().resolve("secret-siderolink.yaml");
        assertThat(Files.getPosixFilePermissions(file)).containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        Secret secret = serialization.unmarshal(Files.readString(file), Secret.class);
        assertThat(secret.getApiVersion()).isEqualTo("v1");
        assertThat(secret.getKind()).isEqualTo("Secret");
        assertThat(secret.getMetadata().getName()).isEqualTo("siderolink");
        assertThat(secret.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(secret.getMetadata().getLabels()).containsEntry("clusterctl.cluster.x-k8s.io/move", "");
        assertThat(secret.getData())
                .containsEntry("installation-id", base64(generated.installationId()))
                .containsEntry("private-key", base64(generated.privateKey()));
    }

    @Test
    void reopenedStoreReturnsTheSameSecret() {
        InstallationSecret first = open(true).loadOrCreateInstallationSecret(() -> new InstallationSecret(randomKey(), randomKey())).block(WAIT);

        InstallationSecret again = open(true).loadOrCreateInstallationSecret(() -> fail("generator called although the Secret file exists"))
                .block(WAIT);

        assertThat(again).isEqualTo(first);
    }

    @Test
    void twoStoresRacingToCreateTheSecretAgreeOnOne() throws Exception {
        StandaloneResourceStore one = open(true);
        StandaloneResourceStore two = open(true);
        // Both generators run (so both saw no file) before either store tries to create it.
        CyclicBarrier bothGenerated = new CyclicBarrier(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        closeables.add(pool::shutdownNow);

        Future<InstallationSecret> fromOne = pool.submit(() -> one.loadOrCreateInstallationSecret(() -> generateAfter(bothGenerated)).block(WAIT));
        Future<InstallationSecret> fromTwo = pool.submit(() -> two.loadOrCreateInstallationSecret(() -> generateAfter(bothGenerated)).block(WAIT));

        InstallationSecret a = fromOne.get(15, TimeUnit.SECONDS);
        InstallationSecret b = fromTwo.get(15, TimeUnit.SECONDS);
        assertThat(a).isEqualTo(b);
        Secret onDisk = serialization.unmarshal(Files.readString(stateDir().resolve("secret-siderolink.yaml")), Secret.class);
        assertThat(onDisk.getData()).containsEntry("private-key", base64(a.privateKey()));
        assertThat(open(true).loadOrCreateInstallationSecret(() -> fail("generator called")).block(WAIT)).isEqualTo(a);
    }

    private static InstallationSecret generateAfter(CyclicBarrier barrier) {
        try {
            barrier.await(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return new InstallationSecret(randomKey(), randomKey());
    }

    // ---- auto-accept ----

    @Test
    void autoAcceptCreatesBindingFileForUnknownUuid() throws IOException {
        StandaloneResourceStore store = open(true);
        recordEvents(store);
        String uuid = newUuid();
        String address = randomAddress();
        String key = randomKey();

        ServerBinding binding = store.updateSiderolink(uuid, current -> new ServerBinding.Siderolink(address, key)).block(WAIT);

        assertThat(binding.uuid()).isEqualTo(uuid);
        assertThat(binding.siderolink()).isEqualTo(new ServerBinding.Siderolink(address, key));
        GenericKubernetesResource onDisk = readBinding(uuid);
        assertThat(onDisk.getKind()).isEqualTo("ServerBinding");
        assertThat(onDisk.getApiVersion()).isEqualTo("infrastructure.cluster.x-k8s.io/v1alpha3");
        assertThat(onDisk.getMetadata().getName()).isEqualTo(uuid);
        assertThat((Object) onDisk.get("spec", "siderolink", "address")).isEqualTo(address);
        assertThat((Object) onDisk.get("spec", "siderolink", "publicKey")).isEqualTo(key);
        assertThat(store.binding(uuid)).contains(binding);
        assertThat(store.isAddressAssigned(bare(address))).isTrue();
        assertThat(events).containsExactly(new BindingEvent(Change.ADDED, binding));
    }

    @Test
    void withoutAutoAcceptUnknownUuidIsNotFound() {
        StandaloneResourceStore store = open(false);
        String uuid = newUuid();

        assertThatThrownBy(() -> store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT))
                .isInstanceOf(BindingNotFoundException.class)
                .hasMessage("server binding \"" + uuid + "\" not found");
        assertThat(bindingFile(uuid)).doesNotExist();
        assertThat(store.binding(uuid)).isEmpty();
    }

    @Test
    void withoutAutoAcceptUpdatesBindingWrittenByHand() throws IOException {
        String uuid = newUuid();
        writeByHand(uuid, bindingYaml(uuid, null, null, ""));
        StandaloneResourceStore store = open(false);
        String key = randomKey();

        ServerBinding binding = store.updateSiderolink(uuid, keepOrAllocate(key)).block(WAIT);

        assertThat(binding.siderolink().publicKey()).isEqualTo(key);
        assertThat((Object) readBinding(uuid).get("spec", "siderolink", "publicKey")).isEqualTo(key);
    }

    // ---- hand-written content ----

    @Test
    void keepsFieldsWrittenByHandOnUpdate() throws IOException {
        String uuid = newUuid();
        String address = randomAddress();
        writeByHand(uuid, """
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
                  siderolink:
                    address: %s
                    publicKey: old-key
                  hostname: node-1
                  somethingSideroAddsLater:
                    nested: 42
                status:
                  ready: true
                  conditions:
                    - type: Ready
                      status: "True"
                """.formatted(uuid, address));
        StandaloneResourceStore store = open(false);
        String key = randomKey();

        ServerBinding binding = store.updateSiderolink(uuid, keepOrAllocate(key)).block(WAIT);

        assertThat(binding.siderolink()).isEqualTo(new ServerBinding.Siderolink(address, key));
        assertThat(binding.metalMachineRef()).isEqualTo(new ServerBinding.MetalMachineRef("default", "worker-1"));
        assertThat(binding.clusterName()).isEqualTo("management");
        GenericKubernetesResource onDisk = readBinding(uuid);
        assertThat((Object) onDisk.get("spec", "siderolink", "publicKey")).isEqualTo(key);
        assertThat((Object) onDisk.get("spec", "siderolink", "address")).isEqualTo(address);
        assertThat((Object) onDisk.get("spec", "metalMachineRef", "name")).isEqualTo("worker-1");
        assertThat((Object) onDisk.get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) onDisk.get("spec", "somethingSideroAddsLater", "nested")).isEqualTo(42);
        assertThat((Object) onDisk.get("status", "ready")).isEqualTo(true);
        assertThat((Object) onDisk.get("status", "conditions", 0, "type")).isEqualTo("Ready");
        assertThat(onDisk.getMetadata().getLabels()).containsEntry("team", "metal").containsEntry("cluster.x-k8s.io/cluster-name", "management");
        assertThat(onDisk.getMetadata().getAnnotations()).containsEntry("note", "keep me");
    }

    @Test
    void picksUpFileReplacedByHandOnRescan() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        String oldAddress = randomAddress();
        store.updateSiderolink(uuid, c -> new ServerBinding.Siderolink(oldAddress, randomKey())).block(WAIT);
        recordEvents(store);
        String newAddress = randomAddress();
        String newKey = randomKey();

        replaceByHand(uuid, bindingYaml(uuid, newAddress, newKey, ""));
        store.rescan();

        ServerBinding expected = new ServerBinding(uuid, new ServerBinding.Siderolink(newAddress, newKey), null, null, null);
        assertThat(store.binding(uuid)).contains(expected);
        assertThat(store.bindings()).containsExactly(expected);
        assertThat(store.isAddressAssigned(bare(newAddress))).isTrue();
        assertThat(store.isAddressAssigned(bare(oldAddress))).isFalse();
        assertThat(events).containsExactly(new BindingEvent(Change.MODIFIED, expected));
    }

    @Test
    void periodicRescanPicksUpFileReplacedByHand() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        recordEvents(store);
        store.startRescans(Duration.ofMillis(100));
        String newAddress = randomAddress();
        String newKey = randomKey();

        replaceByHand(uuid, bindingYaml(uuid, newAddress, newKey, ""));

        awaitTrue(() -> store.binding(uuid).map(b -> newKey.equals(b.siderolink().publicKey())).orElse(false), "rescan picks up the new file");
        assertThat(store.isAddressAssigned(bare(newAddress))).isTrue();
        // the rescan thread publishes the event right after the binding: wait for it too
        Awaitility.await().atMost(WAIT).untilAsserted(() -> assertThat(events).extracting(BindingEvent::type).containsExactly(Change.MODIFIED));
    }

    @Test
    void picksUpFileAddedByHand() throws IOException {
        StandaloneResourceStore store = open(false);
        recordEvents(store);
        String uuid = newUuid();
        String address = randomAddress();
        String key = randomKey();

        replaceByHand(uuid, bindingYaml(uuid, address, key, "  labels: {cluster.x-k8s.io/cluster-name: edge}\n"));
        store.rescan();

        ServerBinding expected = new ServerBinding(uuid, new ServerBinding.Siderolink(address, key), null, "edge", null);
        assertThat(store.binding(uuid)).contains(expected);
        assertThat(store.bindings()).containsExactly(expected);
        assertThat(store.isAddressAssigned(bare(address))).isTrue();
        assertThat(events).containsExactly(new BindingEvent(Change.ADDED, expected));
    }

    @Test
    void forgetsFileDeletedByHand() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        String keptUuid = newUuid();
        ServerBinding binding = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        store.updateSiderolink(keptUuid, keepOrAllocate(randomKey())).block(WAIT);
        recordEvents(store);

        Files.delete(bindingFile(uuid));
        store.rescan();

        assertThat(store.binding(uuid)).isEmpty();
        assertThat(store.bindings()).extracting(ServerBinding::uuid).containsExactly(keptUuid);
        assertThat(store.isAddressAssigned(bare(binding.siderolink().address()))).isFalse();
        assertThat(events).containsExactly(new BindingEvent(Change.DELETED, binding));
    }

    @Test
    void handEditAfterLastRescanIsNotOverwrittenByUpdate() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        ServerBinding before = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        // An in-place edit (same inode) adding a label; no rescan runs before the update.
        String edited = Files.readString(bindingFile(uuid)).replace("metadata:\n", "metadata:\n  labels:\n    added-by: hand\n");
        assertThat(edited).contains("added-by");
        Files.writeString(bindingFile(uuid), edited);
        String newKey = randomKey();

        store.updateSiderolink(uuid, keepOrAllocate(newKey)).block(WAIT);

        GenericKubernetesResource onDisk = readBinding(uuid);
        assertThat(onDisk.getMetadata().getLabels()).containsEntry("added-by", "hand");
        assertThat((Object) onDisk.get("spec", "siderolink", "publicKey")).isEqualTo(newKey);
        assertThat((Object) onDisk.get("spec", "siderolink", "address")).isEqualTo(before.siderolink().address());
    }

    @Test
    void handEditLandingRightAfterOwnRenameIsPickedUpByRescan() throws IOException {
        String uuid = newUuid();
        String handAddress = randomAddress();
        String handKey = randomKey();
        AtomicBoolean editAfterRename = new AtomicBoolean();
        AtomicFiles files = new AtomicFiles((temp, target) -> {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (editAfterRename.get()) {
                // Someone replaces the file between our rename and anything else we do.
                replaceByHand(uuid, bindingYaml(uuid, handAddress, handKey, ""));
            }
        });
        StandaloneResourceStore store = open(true, files);
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        editAfterRename.set(true);
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);

        store.rescan();

        assertThat(store.binding(uuid)).get().extracting(ServerBinding::siderolink).isEqualTo(new ServerBinding.Siderolink(handAddress, handKey));
    }

    // ---- crash safety ----

    @Test
    void keepsOldFileWhenCrashBetweenWriteAndRename() throws IOException {
        AtomicBoolean crash = new AtomicBoolean();
        AtomicFiles files = new AtomicFiles((temp, target) -> {
            if (crash.get()) {
                throw new IOException("simulated crash before rename");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        });
        StandaloneResourceStore store = open(true, files);
        String uuid = newUuid();
        ServerBinding before = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        byte[] oldBytes = Files.readAllBytes(bindingFile(uuid));
        crash.set(true);

        assertThatThrownBy(() -> store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(bindingFile(uuid).toString());

        assertThat(Files.readAllBytes(bindingFile(uuid))).isEqualTo(oldBytes);
        assertThat(store.binding(uuid)).contains(before);
        assertThat(listNames(bindingsDir())).containsExactly(uuid + ".yaml");
        // and the store recovers once renames work again
        crash.set(false);
        String key = randomKey();
        assertThat(store.updateSiderolink(uuid, keepOrAllocate(key)).block(WAIT).siderolink())
                .isEqualTo(new ServerBinding.Siderolink(before.siderolink().address(), key));
    }

    @Test
    void removesLeftoverTempFilesAtStartAndKeepsTheOldFile() throws IOException {
        String uuid = newUuid();
        ServerBinding before = open(true).updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        byte[] oldBytes = Files.readAllBytes(bindingFile(uuid));
        InstallationSecret secret = open(true).loadOrCreateInstallationSecret(() -> new InstallationSecret(randomKey(), randomKey())).block(WAIT);
        // What a crash after the temp write and before the rename leaves behind (names as AtomicFiles makes them).
        Path bindingTemp = bindingsDir().resolve("." + uuid + ".yaml.3fa2b19c0d7e4a15.tmp");
        Files.writeString(bindingTemp, bindingYaml(uuid, randomAddress(), randomKey(), ""));
        Path secretTemp = stateDir().resolve(".secret-siderolink.yaml.9c0ffee01234abcd.tmp");
        Files.writeString(secretTemp, "half a secr");

        StandaloneResourceStore store = open(true);

        assertThat(bindingTemp).doesNotExist();
        assertThat(secretTemp).doesNotExist();
        assertThat(listNames(bindingsDir())).containsExactly(uuid + ".yaml");
        assertThat(Files.readAllBytes(bindingFile(uuid))).isEqualTo(oldBytes);
        assertThat(store.binding(uuid)).contains(before);
        assertThat(store.bindings()).hasSize(1);
        assertThat(store.loadOrCreateInstallationSecret(() -> fail("generator called")).block(WAIT)).isEqualTo(secret);
    }

    @Test
    void keepsLastGoodVersionOfMalformedFileAndPicksUpTheFix() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        ServerBinding good = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        recordEvents(store);

        replaceByHand(uuid, "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\nkind: ServerBinding\nmetadata: {name: " + uuid + "\nspec: [unclosed\n");
        store.rescan();
        store.rescan();

        assertThat(store.binding(uuid)).contains(good);
        assertThat(store.isAddressAssigned(bare(good.siderolink().address()))).isTrue();
        assertThat(events).isEmpty();

        String fixedKey = randomKey();
        replaceByHand(uuid, bindingYaml(uuid, good.siderolink().address(), fixedKey, ""));
        store.rescan();

        assertThat(store.binding(uuid)).get().extracting(b -> b.siderolink().publicKey()).isEqualTo(fixedKey);
        assertThat(events).extracting(BindingEvent::type).containsExactly(Change.MODIFIED);
    }

    @Test
    void updateDoesNotOverwriteMalformedFileWithLastGoodVersion() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        ServerBinding good = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        String broken = bindingYaml(uuid, good.siderolink().address(), "half-typed", "  labels: {team: metal\n");
        replaceByHand(uuid, broken);

        assertThatThrownBy(() -> store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(bindingFile(uuid).toString());

        assertThat(Files.readString(bindingFile(uuid))).isEqualTo(broken);
        assertThat(store.binding(uuid)).contains(good);
    }

    @Test
    void autoAcceptDoesNotReplaceMalformedFileWrittenByHand() throws IOException {
        String uuid = newUuid();
        String broken = bindingYaml(uuid, null, null, "").replace("spec:", "spec: [\n  metalMachineRef: {name: worker-1}");
        writeByHand(uuid, broken);
        StandaloneResourceStore store = open(true);
        assertThat(store.binding(uuid)).isEmpty();

        assertThatThrownBy(() -> store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(bindingFile(uuid).toString());

        assertThat(Files.readString(bindingFile(uuid))).isEqualTo(broken);
    }

    // ---- names ----

    @Test
    void refusesInvalidUuidsWithoutTouchingTheFilesystem() throws IOException {
        StandaloneResourceStore store = open(true);

        for (String invalid : List.of("../etc/passwd", "../../escaped", "UPPER", "", "a/b")) {
            assertThatThrownBy(() -> store.updateSiderolink(invalid, keepOrAllocate(randomKey())).block(WAIT))
                    .as("uuid %s", invalid)
                    .isInstanceOf(IllegalArgumentException.class);
        }

        try (Stream<Path> all = Files.walk(tmp)) {
            assertThat(all.filter(Files::isRegularFile).toList()).isEmpty();
        }
        assertThat(store.bindings()).isEmpty();
    }

    // ---- concurrency ----

    @Test
    void concurrentUpdatesOfOneUuidWriteExactlyOneAddress() throws Exception {
        StandaloneResourceStore store = open(true);
        recordEvents(store);
        String uuid = newUuid();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            keys.add(randomKey());
        }

        List<ServerBinding> results = runInParallel(keys.stream()
                .map(key -> (Callable<ServerBinding>) () -> store.updateSiderolink(uuid, keepOrAllocate(key)).block(WAIT))
                .toList());

        GenericKubernetesResource onDisk = readBinding(uuid);
        String address = (String) onDisk.get("spec", "siderolink", "address");
        assertThat(address).isNotNull();
        assertThat(results).extracting(b -> b.siderolink().address()).containsOnly(address);
        assertThat(events).extracting(e -> e.binding().siderolink().address()).containsOnly(address);
        assertThat(keys).contains((String) onDisk.get("spec", "siderolink", "publicKey"));
        assertThat(store.binding(uuid)).get().extracting(b -> b.siderolink().publicKey()).isEqualTo(onDisk.get("spec", "siderolink", "publicKey"));
        // no temp file left behind, only the one recycled spare
        assertThat(listNames(bindingsDir())).filteredOn(name -> !AtomicFilesTest.isSpare(name)).containsExactly(uuid + ".yaml");
        assertThat(listNames(bindingsDir())).filteredOn(AtomicFilesTest::isSpare).hasSize(1);
    }

    @Test
    void fileWorkRunsOnStoreThreadsAndAMirrorFollowsItsBindingOnTheSameThread() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        String uuid = newUuid();
        writeBindingNaming(uuid, ":5/64", "node-key", "worker-1");
        StandaloneResourceStore store = open(false);
        List<String> threads = new CopyOnWriteArrayList<>();

        // subscribed from a non-blocking thread, as the event sink's transport threads do
        reactor.core.publisher.Mono.defer(() -> store.updateReportAndMirror(uuid, report -> {
                            threads.add(Thread.currentThread().getName());
                            return new dev.siderolink.server.inventory.NodeReport(report.conditions(), report.addresses(), "node-1");
                        }, (binding, status) -> {
                            threads.add(Thread.currentThread().getName());
                            return new MetalMachineStatus(status.conditions(), List.of(new MetalMachineStatus.Address("Hostname", "node-1")));
                        }))
                .subscribeOn(reactor.core.scheduler.Schedulers.parallel())
                .block(WAIT);

        assertThat(threads).hasSize(2).allMatch(name -> name.startsWith("standalone-io-"));
        assertThat(threads.get(1)).isEqualTo(threads.get(0));
        assertThat((Object) readMetalMachine("default", "worker-1").get("status", "addresses", 0, "address")).isEqualTo("node-1");
    }

    @Test
    void parallelUpdatesOfManyUuidsAllLand() throws Exception {
        StandaloneResourceStore store = open(true);
        Map<String, String> keyByUuid = Stream.generate(StandaloneResourceStoreTest::newUuid).limit(50)
                .collect(Collectors.toMap(uuid -> uuid, uuid -> randomKey()));

        runInParallel(keyByUuid.entrySet().stream()
                .map(e -> (Callable<ServerBinding>) () -> store.updateSiderolink(e.getKey(), keepOrAllocate(e.getValue())).block(WAIT))
                .toList());

        assertThat(listNames(bindingsDir())).hasSize(50);
        for (Map.Entry<String, String> e : keyByUuid.entrySet()) {
            assertThat((Object) readBinding(e.getKey()).get("spec", "siderolink", "publicKey")).isEqualTo(e.getValue());
        }
        assertThat(store.bindings()).hasSize(50);
        StandaloneResourceStore reopened = open(false);
        assertThat(reopened.bindings()).extracting(b -> b.siderolink().publicKey()).containsExactlyInAnyOrderElementsOf(keyByUuid.values());
    }

    // ---- MetalMachine files ----

    @Test
    void loadsMetalMachineFilesPresentAtStart() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        writeMetalMachine("edge", "worker-1", metalMachineYaml("edge", "worker-1", null));

        StandaloneResourceStore store = open(false);

        assertThat(store.metalMachine(new MetalMachine.Key("default", "worker-1"))).contains(new MetalMachine("default", "worker-1", "worker-1-x7k2p"));
        assertThat(store.metalMachine(new MetalMachine.Key("edge", "worker-1"))).contains(new MetalMachine("edge", "worker-1", null));
        assertThat(store.metalMachines()).hasSize(2);
    }

    @Test
    void metalMachineFileCreatedEditedAndDeletedByHandIsFollowed() throws IOException {
        StandaloneResourceStore store = open(false);
        List<MetalMachineEvent> metalMachineEvents = recordMetalMachineEvents(store);
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");

        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", null));
        store.rescan();
        assertThat(store.metalMachine(key)).contains(new MetalMachine("default", "worker-1", null));

        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        store.rescan();
        store.rescan();
        assertThat(store.metalMachine(key)).contains(new MetalMachine("default", "worker-1", "worker-1-x7k2p"));

        Files.delete(metalMachineFile("default", "worker-1"));
        store.rescan();
        assertThat(store.metalMachine(key)).isEmpty();
        assertThat(store.metalMachines()).isEmpty();

        assertThat(metalMachineEvents).containsExactly(
                new MetalMachineEvent(Change.ADDED, new MetalMachine("default", "worker-1", null)),
                new MetalMachineEvent(Change.MODIFIED, new MetalMachine("default", "worker-1", "worker-1-x7k2p")),
                new MetalMachineEvent(Change.DELETED, new MetalMachine("default", "worker-1", "worker-1-x7k2p")));
    }

    @Test
    void metalMachineEditThatKeepsOurFieldsEmitsNoEvent() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        StandaloneResourceStore store = open(false);
        List<MetalMachineEvent> metalMachineEvents = recordMetalMachineEvents(store);

        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p")
                + "status:\n  ready: true\n  addresses: [{type: InternalIP, address: 10.5.0.3}]\n");
        store.rescan();

        assertThat(metalMachineEvents).isEmpty();
    }

    @Test
    void brokenMetalMachineEditKeepsLastGoodVersionUntilFixed() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        StandaloneResourceStore store = open(false);
        MetalMachine good = new MetalMachine("default", "worker-1", "worker-1-x7k2p");

        for (String broken : List.of(
                "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\nkind: MetalMachine\nmetadata: {name: worker-1\n",
                metalMachineYaml("default", "worker-1", "other").replace("kind: MetalMachine", "kind: ServerBinding"),
                metalMachineYaml("default", "worker-2", "other"),
                metalMachineYaml("elsewhere", "worker-1", "other"),
                metalMachineYaml("default", "worker-1", "other").replace("ownerReferences:", "ownerReferences: 7\n  ignored:"),
                "")) {
            writeMetalMachine("default", "worker-1", broken);
            store.rescan();
            store.rescan();
            assertThat(store.metalMachine(good.key())).as("after writing:%n%s", broken).contains(good);
        }

        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "fixed"));
        store.rescan();

        assertThat(store.metalMachine(good.key())).contains(new MetalMachine("default", "worker-1", "fixed"));
    }

    @Test
    void metalMachineFileWhoseContentDisagreesWithItsPathIsIgnored() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-9", "m"));
        writeMetalMachine("default", "worker-2", metalMachineYaml("other", "worker-2", "m"));
        writeMetalMachine("default", "worker-3", metalMachineYaml(null, "worker-3", "m"));
        writeMetalMachine("default", "worker-4", bindingYaml("worker-4", null, null, ""));

        StandaloneResourceStore store = open(false);

        assertThat(store.metalMachines()).isEmpty();
    }

    @Test
    void tempDotAndInvalidlyNamedMetalMachineFilesAreIgnored() throws IOException {
        Path root = stateDir().resolve("metalmachines");
        Files.createDirectories(root.resolve("default"));
        Files.writeString(root.resolve("default").resolve(".worker-1.yaml.3fa2b19c0d7e4a15.tmp"), metalMachineYaml("default", "worker-1", "m"));
        Files.writeString(root.resolve("default").resolve(".worker-1.yaml"), metalMachineYaml("default", "worker-1", "m"));
        Files.writeString(root.resolve("default").resolve("Worker_1.yaml"), metalMachineYaml("default", "Worker_1", "m"));
        Files.writeString(root.resolve("default").resolve("worker-1.yml.bak"), metalMachineYaml("default", "worker-1", "m"));
        Files.createDirectories(root.resolve("Bad_Namespace"));
        Files.writeString(root.resolve("Bad_Namespace").resolve("worker-1.yaml"), metalMachineYaml("Bad_Namespace", "worker-1", "m"));
        Files.createDirectories(root.resolve(".git"));
        Files.writeString(root.resolve(".git").resolve("worker-1.yaml"), metalMachineYaml(".git", "worker-1", "m"));
        Files.writeString(root.resolve("worker-1.yaml"), metalMachineYaml("default", "worker-1", "m")); // no namespace directory

        StandaloneResourceStore store = open(false);
        store.rescan();

        assertThat(store.metalMachines()).isEmpty();
    }

    @Test
    void removedNamespaceDirectoryForgetsItsMetalMachines() throws IOException {
        writeMetalMachine("edge", "worker-1", metalMachineYaml("edge", "worker-1", "m"));
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);

        Files.delete(metalMachineFile("edge", "worker-1"));
        Files.delete(metalMachineFile("edge", "worker-1").getParent());
        store.rescan();

        assertThat(store.metalMachines()).containsExactly(new MetalMachine("default", "worker-1", "m"));
    }

    @Test
    void periodicRescanPicksUpMetalMachineFiles() throws IOException {
        StandaloneResourceStore store = open(false);
        store.startRescans(Duration.ofMillis(100));

        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));

        awaitTrue(() -> store.metalMachine(new MetalMachine.Key("default", "worker-1")).isPresent(), "rescan picks up the new file");
    }

    // ---- updateReport ----

    @Test
    void reportUpdateWritesSpecAndStatusInOneFileWriteAndKeepsTheRest() throws IOException {
        String uuid = newUuid();
        writeByHand(uuid, """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: ServerBinding
                metadata:
                  name: %s
                  labels:
                    cluster.x-k8s.io/cluster-name: management
                  annotations:
                    note: keep me
                spec:
                  metalMachineRef:
                    namespace: default
                    name: worker-1
                  siderolink:
                    address: fdae:2859:5bb1:7a03::5/64
                    publicKey: node-key
                  somethingSideroAddsLater:
                    nested: 42
                status:
                  ready: true
                  conditions:
                    - type: Ready
                      status: "True"
                      lastTransitionTime: "2024-05-01T10:00:00Z"
                """.formatted(uuid));
        AtomicInteger renames = new AtomicInteger();
        StandaloneResourceStore store = open(false, countingRenames(renames));

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(
                        Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3", "2001:db8::3"), "node-1"))
                .block(WAIT);

        assertThat(renames).as("file writes").hasValue(1);
        GenericKubernetesResource onDisk = readBinding(uuid);
        assertThat((Object) onDisk.get("spec", "addresses")).isEqualTo(List.of("10.5.0.3", "2001:db8::3"));
        assertThat((Object) onDisk.get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) onDisk.get("status", "conditions")).isEqualTo(List.of(
                Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"),
                Map.of("type", "TalosInstalled", "status", "True", "lastTransitionTime", "2024-05-01T12:00:00Z")));
        assertThat((Object) onDisk.get("status", "ready")).isEqualTo(true);
        assertThat((Object) onDisk.get("spec", "siderolink", "publicKey")).isEqualTo("node-key");
        assertThat((Object) onDisk.get("spec", "metalMachineRef", "name")).isEqualTo("worker-1");
        assertThat((Object) onDisk.get("spec", "somethingSideroAddsLater", "nested")).isEqualTo(42);
        assertThat(onDisk.getMetadata().getLabels()).containsEntry("cluster.x-k8s.io/cluster-name", "management");
        assertThat(onDisk.getMetadata().getAnnotations()).containsEntry("note", "keep me");
        assertThat(result.report()).isEqualTo(new NodeReport(List.of(
                new Condition("Ready", "True", null, null, null, "2024-05-01T10:00:00Z"),
                new Condition("TalosInstalled", "True", null, null, null, "2024-05-01T12:00:00Z")), List.of("10.5.0.3", "2001:db8::3"), "node-1"));
        assertThat(store.binding(uuid)).contains(result);
    }

    @Test
    void noOpReportUpdateDoesNotWriteTheFile() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        ServerBinding written = store.updateReport(uuid, current -> new NodeReport(
                Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3"), "node-1")).block(WAIT);
        byte[] bytes = Files.readAllBytes(bindingFile(uuid));
        Object fileKey = Files.readAttributes(bindingFile(uuid), BasicFileAttributes.class).fileKey();

        ServerBinding again = store.updateReport(uuid, current -> new NodeReport(
                Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW.plusSeconds(60)), List.of("10.5.0.3"), "node-1")).block(WAIT);

        assertThat(again).isEqualTo(written);
        assertThat(Files.readAllBytes(bindingFile(uuid))).isEqualTo(bytes);
        assertThat(Files.readAttributes(bindingFile(uuid), BasicFileAttributes.class).fileKey()).as("same inode: not replaced").isEqualTo(fileKey);
    }

    @Test
    void reportUpdateWithNullAddressesAndHostnameRemovesThem() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(WAIT);

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(current.conditions(), null, null)).block(WAIT);

        assertThat(result.addresses()).isNull();
        assertThat(result.hostname()).isNull();
        assertThat(List.copyOf(((Map<?, ?>) readBinding(uuid).getAdditionalProperties().get("spec")).keySet())).isEqualTo(List.of("siderolink"));
    }

    @Test
    void reportUpdateKeepsHandEditMadeSinceTheLastRescan() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        String edited = Files.readString(bindingFile(uuid)).replace("metadata:\n", "metadata:\n  labels:\n    added-by: hand\n");
        Files.writeString(bindingFile(uuid), edited);

        store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(WAIT);

        GenericKubernetesResource onDisk = readBinding(uuid);
        assertThat(onDisk.getMetadata().getLabels()).containsEntry("added-by", "hand");
        assertThat((Object) onDisk.get("spec", "hostname")).isEqualTo("node-1");
    }

    @Test
    void ownReportWriteIsNotTakenForAHandEditByTheRescan() {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        recordEvents(store);

        ServerBinding result = store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(WAIT);
        store.rescan();

        assertThat(events).containsExactly(new BindingEvent(Change.MODIFIED, result));
    }

    @Test
    void reportUpdateDoesNotOverwriteMalformedFile() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        ServerBinding good = store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        String broken = bindingYaml(uuid, good.siderolink().address(), "half-typed", "  labels: {team: metal\n");
        replaceByHand(uuid, broken);

        assertThatThrownBy(() -> store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(bindingFile(uuid).toString());

        assertThat(Files.readString(bindingFile(uuid))).isEqualTo(broken);
        assertThat(store.binding(uuid)).contains(good);
    }

    @Test
    void reportUpdateOfUnknownBindingIsNotFoundEvenWithAutoAccept() {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();

        assertThatThrownBy(() -> store.updateReport(uuid, current -> new NodeReport(current.conditions(), List.of("10.5.0.3"), "node-1")).block(WAIT))
                .isInstanceOf(BindingNotFoundException.class)
                .hasMessage("server binding \"" + uuid + "\" not found");
        assertThat(bindingFile(uuid)).doesNotExist();
    }

    @Test
    void addressesAndHostnameWrittenByHandAreRead() throws IOException {
        String uuid = newUuid();
        writeByHand(uuid, bindingYaml(uuid, null, null, "").replace("spec:\n  {}\n",
                "spec:\n  hostname: node-1\n  addresses: [10.5.0.3, 7, {a: b}, 2001:db8::3]\n"));
        String notAList = newUuid();
        writeByHand(notAList, bindingYaml(notAList, null, null, "").replace("spec:\n  {}\n", "spec:\n  hostname: [x]\n  addresses: 10.5.0.3\n"));

        StandaloneResourceStore store = open(false);

        assertThat(store.binding(uuid)).get().extracting(ServerBinding::report)
                .isEqualTo(new NodeReport(List.of(), List.of("10.5.0.3", "2001:db8::3"), "node-1"));
        assertThat(store.binding(notAList)).get().extracting(ServerBinding::report).isEqualTo(new NodeReport(List.of(), null, null));
    }

    // ---- journal (crash safety of status writes) ----

    private List<Path> journalSegments() throws IOException {
        Path dir = stateDir().resolve(Journal.DIRECTORY);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.collect(Collectors.toList());
        }
    }

    /** The file as it was before: old content, and a modification time older than any journal record. */
    private static void putBack(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(3600)));
    }

    /** A new binding created by auto-accept, then one journalled status write to it; its UUID. */
    private static String acceptedAndInstalled(StandaloneResourceStore store) {
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        store.updateConditions(uuid, installed()).block(WAIT);
        return uuid;
    }

    private static UnaryOperator<List<Condition>> installed() {
        return conditions -> Condition.set(conditions, Condition.isTrue("TalosInstalled"), NOW);
    }

    @Test
    void statusWritesGoThroughTheJournalUntilACheckpoint() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = newUuid();
        store.updateSiderolink(uuid, keepOrAllocate(randomKey())).block(WAIT);
        assertThat(journalSegments()).as("a new binding is written durably by itself").isEmpty();

        store.updateConditions(uuid, installed()).block(WAIT);

        assertThat(journalSegments()).hasSize(1);
        assertThat(store.healthDetails()).containsEntry("journalRecords", 1L).containsEntry("journalCommits", 1L);
        assertThat(readBinding(uuid).get("status", "conditions").toString()).contains("TalosInstalled");
        store.checkpoint();
        assertThat(journalSegments()).isEmpty();
        assertThat(store.healthDetails().get("lastCheckpoint")).isNotEqualTo("never");
    }

    @Test
    void aReportAndItsMirrorAreMadeDurableByOneCommit() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        String uuid = newUuid();
        writeBindingNaming(uuid, ":5/64", "node-key", "worker-1");
        String lonely = newUuid();
        writeBindingNaming(lonely, ":6/64", "other-key", "not-there");
        StandaloneResourceStore store = open(false);
        UnaryOperator<NodeReport> report = current -> new NodeReport(
                Condition.set(current.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of("10.5.0.3"), "node-1");

        ResourceStore.Mirrored result = store.updateReportAndMirror(uuid, report,
                (binding, status) -> new MetalMachineStatus(binding.conditions(), List.of(new MetalMachineStatus.Address("Hostname", binding.hostname())))).block(WAIT);

        assertThat(result.metalMachineFound()).isTrue();
        assertThat(result.binding().hostname()).isEqualTo("node-1");
        assertThat((Object) readBinding(uuid).get("spec", "hostname")).isEqualTo("node-1");
        assertThat((Object) readMetalMachine("default", "worker-1").get("status", "addresses"))
                .isEqualTo(List.of(Map.of("type", "Hostname", "address", "node-1")));
        assertThat(store.healthDetails()).containsEntry("journalRecords", 2L).containsEntry("journalCommits", 1L);

        ResourceStore.Mirrored missing = store.updateReportAndMirror(lonely, report, (binding, status) -> status).block(WAIT);
        assertThat(missing.metalMachineFound()).as("the MetalMachine file does not exist").isFalse();
        assertThat(metalMachineFile("default", "not-there")).doesNotExist();
        assertThat((Object) readBinding(lonely).get("spec", "hostname")).isEqualTo("node-1");
    }

    @Test
    void closingTheStoreLeavesNoJournal() throws IOException {
        StandaloneResourceStore store = open(true);
        String uuid = acceptedAndInstalled(store);

        store.close();

        assertThat(journalSegments()).isEmpty();
    }

    @Test
    void statusWritesLostInACrashArePutBackAtStart() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p"));
        String uuid = newUuid();
        writeBindingNaming(uuid, ":5/64", "node-key", "worker-1");
        Path machineFile = metalMachineFile("default", "worker-1");
        byte[] bindingBefore = Files.readAllBytes(bindingFile(uuid));
        byte[] machineBefore = Files.readAllBytes(machineFile);
        StandaloneResourceStore first = open(false);
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");
        first.updateConditions(uuid, installed()).block(WAIT);
        first.updateMetalMachineStatus(key, status -> new MetalMachineStatus(
                Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")))).block(WAIT);
        byte[] bindingAfter = Files.readAllBytes(bindingFile(uuid));
        byte[] machineAfter = Files.readAllBytes(machineFile);

        // a power cut: the renames never reached the disk, the journal did
        first.crash();
        putBack(bindingFile(uuid), bindingBefore);
        putBack(machineFile, machineBefore);
        StandaloneResourceStore second = open(false);

        assertThat(Files.readAllBytes(bindingFile(uuid))).isEqualTo(bindingAfter);
        assertThat(Files.readAllBytes(machineFile)).isEqualTo(machineAfter);
        assertThat(second.binding(uuid).orElseThrow().conditions()).extracting(Condition::type).contains("TalosInstalled");
        assertThat(journalSegments()).as("recovered, then deleted").isEmpty();
    }

    @Test
    void aFileEditedByHandAfterTheLostWriteIsKept() throws IOException {
        StandaloneResourceStore first = open(true);
        String uuid = acceptedAndInstalled(first);
        first.crash();
        String edited = bindingYaml(uuid, PREFIX + ":9/64", "edited-by-hand", "");
        replaceByHand(uuid, edited);
        // File times come from a coarse clock (a scheduler tick behind); an edit made while the
        // server is down is seconds after its last write.
        Files.setLastModifiedTime(bindingFile(uuid), java.nio.file.attribute.FileTime.from(Instant.now().plusSeconds(2)));

        StandaloneResourceStore second = open(false);

        assertThat(Files.readString(bindingFile(uuid))).isEqualTo(edited);
        assertThat(second.binding(uuid).orElseThrow().siderolink().publicKey()).isEqualTo("edited-by-hand");
        assertThat(journalSegments()).isEmpty();
    }

    @Test
    void aFileDeletedAfterTheLostWriteIsNotRecreated() throws IOException {
        StandaloneResourceStore first = open(true);
        String uuid = acceptedAndInstalled(first);
        first.crash();
        Files.delete(bindingFile(uuid));

        StandaloneResourceStore second = open(false);

        assertThat(bindingFile(uuid)).doesNotExist();
        assertThat(second.binding(uuid)).isEmpty();
    }

    @Test
    void aStoreStartingBesideALiveOneLeavesItsJournalAlone() throws IOException {
        StandaloneResourceStore first = open(true);
        String uuid = acceptedAndInstalled(first);
        List<Path> live = journalSegments();
        assertThat(live).hasSize(1);

        open(false);

        assertThat(journalSegments()).containsAll(live);
        first.checkpoint();
        assertThat(journalSegments()).isEmpty();
    }

    // ---- updateMetalMachineStatus ----

    @Test
    void metalMachineStatusUpdateWritesConditionsAndAddressesAndKeepsTheRest() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "worker-1-x7k2p") + """
                status:
                  ready: true
                  conditions:
                    - type: Ready
                      status: "True"
                      lastTransitionTime: "2024-05-01T10:00:00Z"
                """);
        StandaloneResourceStore store = open(false);

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key("default", "worker-1"), status -> new MetalMachineStatus(
                        Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW),
                        List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3"), new MetalMachineStatus.Address("Hostname", "node-1"))))
                .block(WAIT);

        assertThat(found).isTrue();
        GenericKubernetesResource onDisk = readMetalMachine("default", "worker-1");
        assertThat((Object) onDisk.get("status", "conditions")).isEqualTo(List.of(
                Map.of("type", "Ready", "status", "True", "lastTransitionTime", "2024-05-01T10:00:00Z"),
                Map.of("type", "TalosInstalled", "status", "True", "lastTransitionTime", "2024-05-01T12:00:00Z")));
        assertThat((Object) onDisk.get("status", "addresses")).isEqualTo(List.of(
                Map.of("type", "InternalIP", "address", "10.5.0.3"), Map.of("type", "Hostname", "address", "node-1")));
        assertThat((Object) onDisk.get("status", "ready")).isEqualTo(true);
        assertThat((Object) onDisk.get("spec", "serverClassRef", "name")).isEqualTo("any");
        assertThat(onDisk.getMetadata().getOwnerReferences()).extracting(o -> o.getName()).containsExactly("worker-1-x7k2p");
        assertThat(store.metalMachine(new MetalMachine.Key("default", "worker-1"))).contains(new MetalMachine("default", "worker-1", "worker-1-x7k2p"));
    }

    @Test
    void noOpMetalMachineStatusUpdateDoesNotWriteTheFile() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");
        UnaryOperator<MetalMachineStatus> mirror = status -> new MetalMachineStatus(
                Condition.set(status.conditions(), Condition.isTrue("TalosInstalled"), NOW), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")));
        store.updateMetalMachineStatus(key, mirror).block(WAIT);
        byte[] bytes = Files.readAllBytes(metalMachineFile("default", "worker-1"));
        Object fileKey = Files.readAttributes(metalMachineFile("default", "worker-1"), BasicFileAttributes.class).fileKey();

        Boolean found = store.updateMetalMachineStatus(key, mirror).block(WAIT);

        assertThat(found).isTrue();
        assertThat(Files.readAllBytes(metalMachineFile("default", "worker-1"))).isEqualTo(bytes);
        assertThat(Files.readAttributes(metalMachineFile("default", "worker-1"), BasicFileAttributes.class).fileKey()).isEqualTo(fileKey);
    }

    @Test
    void metalMachineStatusUpdateKeepsHandEditMadeSinceTheLastRescan() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "first"));
        StandaloneResourceStore store = open(false);
        List<MetalMachineEvent> metalMachineEvents = recordMetalMachineEvents(store);
        // In place (same inode), no rescan before the update: a new owner and a label.
        Path file = metalMachineFile("default", "worker-1");
        Files.writeString(file, Files.readString(file).replace("name: first", "name: second").replace("metadata:\n", "metadata:\n  labels: {added-by: hand}\n"));

        store.updateMetalMachineStatus(new MetalMachine.Key("default", "worker-1"),
                status -> new MetalMachineStatus(status.conditions(), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")))).block(WAIT);

        GenericKubernetesResource onDisk = readMetalMachine("default", "worker-1");
        assertThat(onDisk.getMetadata().getLabels()).containsEntry("added-by", "hand");
        assertThat(onDisk.getMetadata().getOwnerReferences()).extracting(o -> o.getName()).containsExactly("second");
        assertThat((Object) onDisk.get("status", "addresses", 0, "address")).isEqualTo("10.5.0.3");
        MetalMachine edited = new MetalMachine("default", "worker-1", "second");
        assertThat(store.metalMachine(edited.key())).contains(edited);
        store.rescan();
        assertThat(metalMachineEvents).as("the hand edit once, our own write not at all")
                .containsExactly(new MetalMachineEvent(Change.MODIFIED, edited));
    }

    @Test
    void metalMachineStatusUpdateDoesNotOverwriteMalformedFile() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);
        String broken = metalMachineYaml("default", "worker-1", "m").replace("spec:", "spec: [");
        writeMetalMachine("default", "worker-1", broken);

        assertThatThrownBy(() -> store.updateMetalMachineStatus(new MetalMachine.Key("default", "worker-1"),
                        status -> new MetalMachineStatus(status.conditions(), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")))).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(metalMachineFile("default", "worker-1").toString())
                .hasMessageContaining("does not parse");

        assertThat(Files.readString(metalMachineFile("default", "worker-1"))).isEqualTo(broken);
        assertThat(store.metalMachine(new MetalMachine.Key("default", "worker-1"))).as("last good version kept")
                .contains(new MetalMachine("default", "worker-1", "m"));
    }

    @Test
    void missingMetalMachineFileGivesFalseAndCreatesNothing() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);

        for (MetalMachine.Key key : List.of(new MetalMachine.Key("default", "worker-2"), new MetalMachine.Key("elsewhere", "worker-1"),
                new MetalMachine.Key("..", "serverbindings"), new MetalMachine.Key(null, "worker-1"), new MetalMachine.Key("default", "../x"))) {
            Boolean found = store.updateMetalMachineStatus(key, status -> fail("update called for %s", key)).block(WAIT);
            assertThat(found).as("key %s", key).isFalse();
        }

        try (Stream<Path> all = Files.walk(stateDir().resolve("metalmachines"))) {
            assertThat(all.filter(Files::isRegularFile).map(p -> stateDir().relativize(p).toString()).toList())
                    .containsExactly("metalmachines/default/worker-1.yaml");
        }
    }

    @Test
    void metalMachineDeletedByHandGivesFalseAndIsForgotten() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);
        Files.delete(metalMachineFile("default", "worker-1"));

        Boolean found = store.updateMetalMachineStatus(new MetalMachine.Key("default", "worker-1"), status -> fail("update called")).block(WAIT);

        assertThat(found).isFalse();
        assertThat(metalMachineFile("default", "worker-1")).doesNotExist();
        assertThat(store.metalMachines()).isEmpty();
    }

    @Test
    void metalMachineWriteFailureKeepsTheOldFileAndLeavesNoTempFile() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        AtomicBoolean crash = new AtomicBoolean(true);
        StandaloneResourceStore store = open(false, new AtomicFiles((temp, target) -> {
            if (crash.get()) {
                throw new IOException("simulated crash before rename");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }));
        byte[] oldBytes = Files.readAllBytes(metalMachineFile("default", "worker-1"));
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");
        UnaryOperator<MetalMachineStatus> mirror = status -> new MetalMachineStatus(status.conditions(), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")));

        assertThatThrownBy(() -> store.updateMetalMachineStatus(key, mirror).block(WAIT))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining(metalMachineFile("default", "worker-1").toString());

        assertThat(Files.readAllBytes(metalMachineFile("default", "worker-1"))).isEqualTo(oldBytes);
        assertThat(listNames(metalMachineFile("default", "worker-1").getParent())).containsExactly("worker-1.yaml");
        crash.set(false);
        assertThat(store.updateMetalMachineStatus(key, mirror).block(WAIT)).isTrue();
        assertThat((Object) readMetalMachine("default", "worker-1").get("status", "addresses", 0, "address")).isEqualTo("10.5.0.3");
    }

    @Test
    void removesLeftoverMetalMachineTempFilesAtStart() throws IOException {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        Path temp = metalMachineFile("default", "worker-1").resolveSibling(".worker-1.yaml.3fa2b19c0d7e4a15.tmp");
        Files.writeString(temp, "half a metal mach");

        StandaloneResourceStore store = open(false);

        assertThat(temp).doesNotExist();
        assertThat(store.metalMachines()).containsExactly(new MetalMachine("default", "worker-1", "m"));
    }

    @Test
    void concurrentMetalMachineStatusUpdatesAllLand() throws Exception {
        writeMetalMachine("default", "worker-1", metalMachineYaml("default", "worker-1", "m"));
        StandaloneResourceStore store = open(false);
        store.startRescans(Duration.ofMillis(5));
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");

        runInParallel(Stream.iterate(0, i -> i + 1).limit(20)
                .map(i -> (Callable<Boolean>) () -> store.updateMetalMachineStatus(key, status -> new MetalMachineStatus(
                        Condition.set(status.conditions(), Condition.isTrue("Condition" + i), NOW), status.addresses())).block(WAIT))
                .toList());

        assertThat(MetalMachineResources.toStatus(readMetalMachine("default", "worker-1")).conditions()).hasSize(20);
    }

    // ---- unusable directory ----

    @Test
    void explainsStateDirectoryThatCannotBeCreated() throws IOException {
        // Tests run as root, which permission bits do not stop: a regular file in the way does.
        Path blocker = tmp.resolve("not-a-directory");
        Files.writeString(blocker, "x");
        Path dir = blocker.resolve("state");

        assertThatThrownBy(() -> track(new StandaloneResourceStore(dir, NAMESPACE, true)))
                .isInstanceOf(StandaloneStateException.class)
                .hasMessageContaining(dir.toString())
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("not a directory"))
                .hasMessageContaining("siderolink.standalone.dir");
    }

    @Test
    void explainsStateDirectoryThatIsARegularFile() throws IOException {
        Path file = tmp.resolve("state-file");
        Files.writeString(file, "x");

        assertThatThrownBy(() -> track(new StandaloneResourceStore(file, NAMESPACE, true)))
                .isInstanceOf(StandaloneStateException.class)
                .hasMessageContaining(file.toString())
                .satisfies(e -> assertThat(e.getMessage()).containsIgnoringCase("not a directory"))
                .hasMessageContaining("siderolink.standalone.dir");
        assertThat(Files.readString(file)).isEqualTo("x");
    }

    // ---- helpers ----

    private List<MetalMachineEvent> recordMetalMachineEvents(StandaloneResourceStore store) {
        List<MetalMachineEvent> recorded = new CopyOnWriteArrayList<>();
        Disposable subscription = store.metalMachineEvents().subscribe(recorded::add);
        closeables.add(subscription::dispose);
        return recorded;
    }

    /** AtomicFiles that count the files it puts in place. */
    private static AtomicFiles countingRenames(AtomicInteger renames) {
        return new AtomicFiles((temp, target) -> {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            renames.incrementAndGet();
        });
    }

    private GenericKubernetesResource readMetalMachine(String namespace, String name) throws IOException {
        return serialization.unmarshal(Files.readString(metalMachineFile(namespace, name)), GenericKubernetesResource.class);
    }

    private Path metalMachineFile(String namespace, String name) {
        return stateDir().resolve("metalmachines").resolve(namespace).resolve(name + ".yaml");
    }

    /** Writes elsewhere and renames into place (creating the namespace directory), as editors do. */
    private void writeMetalMachine(String namespace, String name, String yaml) throws IOException {
        Path file = metalMachineFile(namespace, name);
        Files.createDirectories(file.getParent());
        Path scratch = Files.createTempFile(tmp, "edit", ".part");
        Files.writeString(scratch, yaml);
        Files.move(scratch, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** A MetalMachine as Cluster API leaves it: owned by its Machine (none when {@code machine} is null). */
    static String metalMachineYaml(String namespace, String name, String machine) {
        StringBuilder yaml = new StringBuilder()
                .append("apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\n")
                .append("kind: MetalMachine\n")
                .append("metadata:\n")
                .append("  name: ").append(name).append('\n');
        if (namespace != null) {
            yaml.append("  namespace: ").append(namespace).append('\n');
        }
        if (machine != null) {
            yaml.append("  ownerReferences:\n")
                    .append("    - apiVersion: cluster.x-k8s.io/v1beta1\n")
                    .append("      kind: Machine\n")
                    .append("      name: ").append(machine).append('\n')
                    .append("      uid: 5a3f2e0c-8d4b-4c7a-9e61-2b7d0f9c1a34\n")
                    .append("      controller: true\n");
        }
        yaml.append("spec:\n  serverClassRef: {name: any}\n");
        return yaml.toString();
    }

    private <T> List<T> runInParallel(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(tasks.size(), 20));
        closeables.add(pool::shutdownNow);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<T>> futures = new ArrayList<>();
        for (var task : tasks) {
            futures.add(pool.submit(() -> {
                go.await();
                return task.call();
            }));
        }
        go.countDown();
        List<T> results = new ArrayList<>();
        for (Future<T> future : futures) {
            results.add(future.get(20, TimeUnit.SECONDS));
        }
        return results;
    }

    private GenericKubernetesResource readBinding(String uuid) throws IOException {
        return serialization.unmarshal(Files.readString(bindingFile(uuid)), GenericKubernetesResource.class);
    }

    private static String bindingYaml(String uuid, String address, String key, String extraMetadata) {
        StringBuilder yaml = new StringBuilder()
                .append("apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\n")
                .append("kind: ServerBinding\n")
                .append("metadata:\n")
                .append("  name: ").append(uuid).append('\n')
                .append(extraMetadata)
                .append("spec:\n");
        if (address != null || key != null) {
            yaml.append("  siderolink:\n");
            if (address != null) {
                yaml.append("    address: ").append(address).append('\n');
            }
            if (key != null) {
                yaml.append("    publicKey: ").append(key).append('\n');
            }
        } else {
            yaml.append("  {}\n");
        }
        return yaml.toString();
    }

    /** A hand-written binding whose {@code spec.metalMachineRef} names {@code default/<metalMachine>}. */
    private void writeBindingNaming(String uuid, String addressSuffix, String key, String metalMachine) throws IOException {
        writeByHand(uuid, bindingYaml(uuid, PREFIX + addressSuffix, key, "") + """
                  metalMachineRef:
                    namespace: default
                    name: %s
                """.formatted(metalMachine));
    }

    /** Writes the file in place, as a first hand-written version. */
    private void writeByHand(String uuid, String yaml) throws IOException {
        Files.createDirectories(bindingsDir());
        Files.writeString(bindingFile(uuid), yaml);
    }

    /** Writes a new file elsewhere and renames it over the binding, as editors and sync tools do. */
    private void replaceByHand(String uuid, String yaml) throws IOException {
        Path scratch = Files.createTempFile(tmp, "edit", ".part");
        Files.writeString(scratch, yaml);
        Files.move(scratch, bindingFile(uuid), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static List<String> listNames(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

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
        return PREFIX + Stream.generate(() -> Integer.toHexString(RANDOM.nextInt(0x10000))).limit(4).collect(Collectors.joining(":")) + "/64";
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
