package dev.siderolink.server.events;

import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.provision.StandaloneTestDirs;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.awaitility.Awaitility;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The event sink against the standalone store: results read back from the YAML files. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
    "siderolink.components=serverevents",
    "siderolink.events.port=0",
    "siderolink.events.negative-address-filter=" + EventSinkContract.FILTERED,
    "siderolink.standalone.rescan-interval=100ms",
})
class StandaloneEventSinkTest extends EventSinkContract {

    static final Path DIR = StandaloneTestDirs.create("standalone-events");
    private final KubernetesSerialization yaml = new KubernetesSerialization();
    private final Map<String, String> brokenOriginals = new HashMap<>();

    @Autowired ResourceStore resourceStore;

    @DynamicPropertySource
    static void dir(DynamicPropertyRegistry registry) {
        registry.add("siderolink.standalone.dir", DIR::toString);
        registry.add("siderolink.events.output", () -> DIR.resolve("serverevents.jsonl").toString());
    }

    private Path bindingFile(String uuid) {
        return DIR.resolve("serverbindings").resolve(uuid + ".yaml");
    }

    private Path metalMachineFile(String name) {
        return DIR.resolve("metalmachines").resolve("default").resolve(name + ".yaml");
    }

    @Override
    void createBinding(String uuid, InetAddress address, String metalMachine) {
        GenericKubernetesResource binding = ServerBindingResources.newBinding(uuid);
        ServerBindingResources.setSiderolink(binding, new ServerBinding.Siderolink(address.getHostAddress() + "/64", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) binding.getAdditionalProperties().get("spec");
        spec.put("metalMachineRef", Map.of("namespace", "default", "name", metalMachine));
        write(bindingFile(uuid), yaml.asYaml(binding));
        Awaitility.await("rescan sees " + uuid).atMost(Duration.ofSeconds(10)).until(() -> resourceStore.binding(uuid).isPresent());
    }

    @Override
    void createMetalMachine(String name) {
        write(metalMachineFile(name), """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  name: %s
                  namespace: default
                  ownerReferences:
                    - apiVersion: cluster.x-k8s.io/v1beta1
                      kind: Machine
                      name: machine-%s
                      uid: 00000000-0000-4000-8000-000000000000
                spec:
                  serverRef:
                    name: x
                status:
                  conditions:
                    - type: Ready
                      status: "True"
                """.formatted(name, name));
    }

    @Override
    NodeReport storedReport(String uuid) {
        ServerBinding binding = ServerBindingResources.toBinding(read(bindingFile(uuid)));
        return new NodeReport(binding.conditions(), binding.addresses(), binding.hostname());
    }

    @Override
    MetalMachineStatus storedMetalMachine(String name) {
        GenericKubernetesResource mm = read(metalMachineFile(name));
        org.assertj.core.api.Assertions.assertThat(mm.get("spec", "serverRef", "name").toString()).as("Sidero's spec untouched").isEqualTo("x");
        return MetalMachineResources.toStatus(mm);
    }

    @Override
    void breakStore(String uuid) {
        try {
            brokenOriginals.put(uuid, Files.readString(bindingFile(uuid)));
            Files.writeString(bindingFile(uuid), "kind: ServerBinding\nspec: [half-typed edit\n"); // an operator's unfinished edit
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    void healStore(String uuid) {
        write(bindingFile(uuid), brokenOriginals.remove(uuid));
    }

    @Override
    Path output() {
        return DIR.resolve("serverevents.jsonl");
    }

    private GenericKubernetesResource read(Path file) {
        try {
            return yaml.unmarshal(Files.readString(file), GenericKubernetesResource.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Path temp = file.resolveSibling("." + file.getFileName() + ".tmp-test");
            Files.writeString(temp, content);
            Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
