package dev.siderolink.server.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.inventory.BindingDirectory.Update;
import dev.siderolink.server.inventory.kubernetes.Crds;
import dev.siderolink.server.inventory.kubernetes.KubernetesResourceStore;
import dev.siderolink.server.inventory.kubernetes.KubernetesStoreAccess;
import dev.siderolink.server.inventory.standalone.StandaloneResourceStore;
import dev.siderolink.server.inventory.standalone.StandaloneStoreAccess;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;

/**
 * {@link BindingDirectory} over real stores: mostly the standalone store on a temporary directory
 * (files written by hand, then a rescan), and once the Kubernetes store on fabric8's mock API.
 */
@Timeout(30)
class BindingDirectoryTest {

    private static final String UUID_A = "4c4c4544-0042-3510-8051-b4c04f4a3032";
    private static final String UUID_B = "9b2d8f3e-6a1c-4e57-8d0b-3f6e2a1c7d94";
    private static final String ADDRESS_A = "fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09";
    private static final String ADDRESS_B = "fdae:2859:5bb1:7a03:d1f0:22ab:9c3e:7b10";
    private static final String ADDRESS_C = "fdae:2859:5bb1:7a03:5e0c:81aa:403f:e2d7";

    @TempDir
    Path tmp;

    private StandaloneResourceStore store;
    private BindingDirectory directory;
    private final List<Update> updates = new CopyOnWriteArrayList<>();
    private final List<AutoCloseable> closeables = new CopyOnWriteArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    // ---- the lookup ----

    @Test
    void lookupByTunnelAddressGivesEveryField() throws IOException {
        follow();

        writeMetalMachine("default", "worker-1", "worker-1-x7k2p");
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        rescan();

        Annotation expected = new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(expected);
        assertThat(directory.size()).isEqualTo(1);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), expected));
    }

    @Test
    void bindingsAndMetalMachinesPresentAtStartAreLookedUp() throws IOException {
        writeMetalMachine("default", "worker-1", "worker-1-x7k2p");
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        writeBinding(UUID_B, ADDRESS_B + "/64", null, null, null);

        follow();

        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management"));
        assertThat(directory.lookup(ip(ADDRESS_B))).isEqualTo(new Annotation(UUID_B, null, null, null, null));
        assertThat(directory.lookup(ip(ADDRESS_B)).fields()).containsExactly(Map.entry("server_uuid", UUID_B));
    }

    @Test
    void unknownAndIpv4AddressesGiveNone() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();

        assertThat(directory.lookup(ip(ADDRESS_B))).isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip("fdae:2859:5bb1:7a03::1"))).as("the server's own address").isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip("10.5.0.3"))).isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip("::ffff:10.5.0.3"))).isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip("127.0.0.1"))).isSameAs(Annotation.NONE);
        assertThat(Annotation.NONE.fields()).isEmpty();
    }

    @Test
    void bindingWithoutAddressIsNotListedUntilItGetsOne() throws IOException {
        writeBinding(UUID_A, null, "default", "worker-1", null);
        follow();
        assertThat(directory.size()).isZero();

        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", null);
        rescan();

        Annotation expected = new Annotation(UUID_A, "default", "worker-1", null, null);
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(expected);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), expected));
    }

    // ---- later changes (weakness b of the reference) ----

    @Test
    void clusterLabelAddedLaterShowsUp() throws IOException {
        writeMetalMachine("default", "worker-1", "worker-1-x7k2p");
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", null);
        follow();
        assertThat(directory.lookup(ip(ADDRESS_A)).cluster()).isNull();

        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        rescan();

        Annotation expected = new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(expected);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), expected));
    }

    @Test
    void machineOwnerAddedLaterShowsUp() throws IOException {
        writeMetalMachine("default", "worker-1", null);
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();
        assertThat(directory.lookup(ip(ADDRESS_A)).machine()).isNull();

        writeMetalMachine("default", "worker-1", "worker-1-x7k2p");
        rescan();

        Annotation expected = new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(expected);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), expected));
    }

    @Test
    void metalMachineCreatedAfterItsBindingShowsUpAndItsDeletionDropsTheMachine() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();

        writeMetalMachine("default", "worker-1", "worker-1-x7k2p");
        rescan();
        assertThat(directory.lookup(ip(ADDRESS_A)).machine()).isEqualTo("worker-1-x7k2p");

        Files.delete(metalMachineFile("default", "worker-1"));
        rescan();

        Annotation withoutMachine = new Annotation(UUID_A, "default", "worker-1", null, "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(withoutMachine);
        assertThat(updates).containsExactly(
                new Update(ip(ADDRESS_A), new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management")),
                new Update(ip(ADDRESS_A), withoutMachine));
    }

    @Test
    void bindingRepointedToAnotherMetalMachineGetsItsMachine() throws IOException {
        writeMetalMachine("default", "worker-1", "machine-one");
        writeMetalMachine("default", "worker-2", "machine-two");
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();

        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-2", "management");
        rescan();
        Annotation repointed = new Annotation(UUID_A, "default", "worker-2", "machine-two", "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(repointed);

        // The old MetalMachine no longer matters; the new one does.
        writeMetalMachine("default", "worker-1", "machine-one-replaced");
        rescan();
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(repointed);
        writeMetalMachine("default", "worker-2", "machine-two-replaced");
        rescan();

        Annotation latest = new Annotation(UUID_A, "default", "worker-2", "machine-two-replaced", "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(latest);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), repointed), new Update(ip(ADDRESS_A), latest));
    }

    @Test
    void sameMetalMachineNameInTwoNamespacesIsNotConfused() throws IOException {
        writeMetalMachine("default", "worker-1", "machine-in-default");
        writeMetalMachine("edge", "worker-1", "machine-in-edge");
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        writeBinding(UUID_B, ADDRESS_B + "/64", "edge", "worker-1", "edge-cluster");
        follow();

        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(new Annotation(UUID_A, "default", "worker-1", "machine-in-default", "management"));
        assertThat(directory.lookup(ip(ADDRESS_B))).isEqualTo(new Annotation(UUID_B, "edge", "worker-1", "machine-in-edge", "edge-cluster"));

        writeMetalMachine("edge", "worker-1", "machine-in-edge-2");
        rescan();

        assertThat(directory.lookup(ip(ADDRESS_A)).machine()).isEqualTo("machine-in-default");
        Annotation edge = new Annotation(UUID_B, "edge", "worker-1", "machine-in-edge-2", "edge-cluster");
        assertThat(directory.lookup(ip(ADDRESS_B))).isEqualTo(edge);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_B), edge));
    }

    @Test
    void bindingChangeThatKeepsTheAnnotationEmitsNoUpdate() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();

        // A re-provision with a new key, status conditions, a hostname: none of them is annotated.
        replace(bindingFile(UUID_A), bindingYaml(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management")
                .replace("ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=", "TlB6bm9xM2N4V2JqZ0x0cUZvR1J4b0h2c2FTQ1pXQ0E=")
                .replace("hostname: node", "hostname: node-renamed")
                + "status:\n  conditions: [{type: TalosInstalled, status: \"True\"}]\n");
        rescan();

        assertThat(store.binding(UUID_A)).get().extracting(b -> b.siderolink().publicKey()).isEqualTo("TlB6bm9xM2N4V2JqZ0x0cUZvR1J4b0h2c2FTQ1pXQ0E=");
        assertThat(updates).isEmpty();
    }

    // ---- addresses moving and going away (weakness a of the reference) ----

    @Test
    void addressChangeMovesTheEntry() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        follow();

        writeBinding(UUID_A, ADDRESS_C + "/64", "default", "worker-1", "management");
        rescan();

        Annotation expected = new Annotation(UUID_A, "default", "worker-1", null, "management");
        assertThat(directory.lookup(ip(ADDRESS_A))).isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip(ADDRESS_C))).isEqualTo(expected);
        assertThat(directory.size()).isEqualTo(1);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), Annotation.NONE), new Update(ip(ADDRESS_C), expected));
    }

    @Test
    void deletedBindingIsReallyGone() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        writeBinding(UUID_B, ADDRESS_B + "/64", "default", "worker-2", "management");
        follow();

        Files.delete(bindingFile(UUID_A));
        rescan();

        assertThat(directory.lookup(ip(ADDRESS_A))).isSameAs(Annotation.NONE);
        assertThat(directory.lookup(ip(ADDRESS_B)).serverUuid()).isEqualTo(UUID_B);
        assertThat(directory.size()).isEqualTo(1);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), Annotation.NONE));
    }

    @Test
    void reusedAddressOfDeletedBindingGivesTheNewServer() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "old-cluster");
        follow();

        Files.delete(bindingFile(UUID_A));
        rescan();
        writeBinding(UUID_B, ADDRESS_A + "/64", "edge", "worker-9", "new-cluster");
        rescan();

        Annotation expected = new Annotation(UUID_B, "edge", "worker-9", null, "new-cluster");
        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(expected);
        assertThat(updates).containsExactly(new Update(ip(ADDRESS_A), Annotation.NONE), new Update(ip(ADDRESS_A), expected));
    }

    @Test
    void addressHeldByTwoBindingsGoesToTheOtherWhenOneIsDeleted() throws IOException {
        // Only a hand edit can do this (Provision never hands out a taken address).
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", null);
        follow();
        writeBinding(UUID_B, ADDRESS_A + "/64", "default", "worker-2", null);
        rescan();
        assertThat(directory.lookup(ip(ADDRESS_A)).serverUuid()).isEqualTo(UUID_B);

        Files.delete(bindingFile(UUID_B));
        rescan();

        assertThat(directory.lookup(ip(ADDRESS_A))).isEqualTo(new Annotation(UUID_A, "default", "worker-1", null, null));
    }

    // ---- lifecycle ----

    @Test
    void closeStopsFollowingAndCompletesUpdates() throws IOException {
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", null);
        follow();
        AtomicBoolean completed = new AtomicBoolean();
        Disposable subscription = directory.updates().subscribe(u -> {}, e -> {}, () -> completed.set(true));
        closeables.add(subscription::dispose);

        directory.close();
        writeBinding(UUID_A, ADDRESS_A + "/64", "default", "worker-1", "management");
        rescan();

        assertThat(completed).isTrue();
        assertThat(updates).isEmpty();
        assertThat(directory.lookup(ip(ADDRESS_A)).cluster()).as("no longer follows the store").isNull();
    }

    // ---- over the Kubernetes store ----

    @Test
    void followsTheKubernetesInformers() throws Exception {
        KubernetesMockServer server = Crds.crudServer(new KubernetesCrudDispatcher());
        closeables.add(server::destroy);
        KubernetesClient client = server.createClient();
        closeables.add(client);
        KubernetesResourceStore kubernetesStore = new KubernetesResourceStore(client, "sidero-system");
        closeables.add(kubernetesStore::stop);
        kubernetesStore.start();
        // The mock may miss changes made before the watches are open.
        Awaitility.await("informers watching").atMost(Duration.ofSeconds(10))
                .until(() -> kubernetesStore.isSynced() && KubernetesStoreAccess.isWatching(kubernetesStore));
        BindingDirectory k8sDirectory = new BindingDirectory(kubernetesStore);
        closeables.add(k8sDirectory);
        var metalMachines = client.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace("default");
        var bindings = client.genericKubernetesResources(ServerBindingResources.CONTEXT);

        metalMachines.resource(parse("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata: {namespace: default, name: worker-1}
                """)).create();
        bindings.resource(parse(bindingYaml(UUID_A, ADDRESS_A + "/64", "default", "worker-1", null))).create();
        awaitAnnotation(k8sDirectory, ADDRESS_A, new Annotation(UUID_A, "default", "worker-1", null, null));

        metalMachines.withName("worker-1").edit(r -> {
            r.getMetadata().setOwnerReferences(List.of(new OwnerReferenceBuilder().withApiVersion("cluster.x-k8s.io/v1beta1").withKind("Machine")
                    .withName("worker-1-x7k2p").withUid("5a3f2e0c-8d4b-4c7a-9e61-2b7d0f9c1a34").build()));
            return r;
        });
        awaitAnnotation(k8sDirectory, ADDRESS_A, new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", null));

        bindings.withName(UUID_A).edit(r -> {
            r.getMetadata().setLabels(Map.of(ServerBindingResources.CLUSTER_NAME_LABEL, "management"));
            return r;
        });
        awaitAnnotation(k8sDirectory, ADDRESS_A, new Annotation(UUID_A, "default", "worker-1", "worker-1-x7k2p", "management"));

        bindings.withName(UUID_A).delete();
        awaitAnnotation(k8sDirectory, ADDRESS_A, Annotation.NONE);
        assertThat(k8sDirectory.size()).isZero();
    }

    // ---- helpers ----

    /** Opens the standalone store on what is in the directory now, and a directory over it. */
    private void follow() {
        store = new StandaloneResourceStore(tmp.resolve("state"), "sidero-system", false);
        closeables.add(store);
        directory = new BindingDirectory(store);
        closeables.add(directory);
        Disposable subscription = directory.updates().subscribe(updates::add);
        closeables.add(subscription::dispose);
    }

    private void rescan() {
        StandaloneStoreAccess.rescan(store);
    }

    private Path bindingFile(String uuid) {
        return tmp.resolve("state").resolve("serverbindings").resolve(uuid + ".yaml");
    }

    private Path metalMachineFile(String namespace, String name) {
        return tmp.resolve("state").resolve("metalmachines").resolve(namespace).resolve(name + ".yaml");
    }

    private void writeBinding(String uuid, String address, String metalMachineNamespace, String metalMachineName, String cluster) throws IOException {
        replace(bindingFile(uuid), bindingYaml(uuid, address, metalMachineNamespace, metalMachineName, cluster));
    }

    private void writeMetalMachine(String namespace, String name, String machine) throws IOException {
        StringBuilder yaml = new StringBuilder()
                .append("apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\n")
                .append("kind: MetalMachine\n")
                .append("metadata:\n")
                .append("  namespace: ").append(namespace).append('\n')
                .append("  name: ").append(name).append('\n');
        if (machine != null) {
            yaml.append("  ownerReferences:\n")
                    .append("    - {apiVersion: cluster.x-k8s.io/v1beta1, kind: Machine, name: ").append(machine)
                    .append(", uid: 5a3f2e0c-8d4b-4c7a-9e61-2b7d0f9c1a34, controller: true}\n");
        }
        replace(metalMachineFile(namespace, name), yaml.toString());
    }

    private static String bindingYaml(String uuid, String address, String metalMachineNamespace, String metalMachineName, String cluster) {
        StringBuilder yaml = new StringBuilder()
                .append("apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\n")
                .append("kind: ServerBinding\n")
                .append("metadata:\n")
                .append("  name: ").append(uuid).append('\n');
        if (cluster != null) {
            yaml.append("  labels: {cluster.x-k8s.io/cluster-name: ").append(cluster).append("}\n");
        }
        yaml.append("spec:\n");
        if (metalMachineName != null) {
            yaml.append("  metalMachineRef: {namespace: ").append(metalMachineNamespace).append(", name: ").append(metalMachineName).append("}\n");
        }
        if (address != null) {
            yaml.append("  siderolink: {address: \"").append(address).append("\", publicKey: \"ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=\"}\n");
        }
        yaml.append("  hostname: node\n");
        return yaml.toString();
    }

    /** Writes elsewhere and renames into place, as editors do: a new inode, so the rescan sees it. */
    private void replace(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Path scratch = Files.createTempFile(tmp, "edit", ".part");
        Files.writeString(scratch, content);
        Files.move(scratch, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static GenericKubernetesResource parse(String yaml) {
        return new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    }

    private static void awaitAnnotation(BindingDirectory directory, String address, Annotation expected) {
        Awaitility.await("annotation of " + address).atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> directory.lookup(ip(address)).equals(expected));
    }

    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
