package dev.siderolink.server.events;

import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.kubernetes.Crds;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import dev.siderolink.server.inventory.kubernetes.MergePatchCrudDispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import dev.siderolink.server.inventory.ResourceStore;

/** The event sink against the Kubernetes API (fabric8 mock server, CRUD mode, CRDs with the status subresource). */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE, properties = {
    "siderolink.components=serverevents",
    "siderolink.store=kubernetes",
    "siderolink.namespace=sidero-system",
    "siderolink.events.port=0",
    "siderolink.events.negative-address-filter=" + EventSinkContract.FILTERED,
})
class KubernetesEventSinkTest extends EventSinkContract {

    /** Merge patches applied as an API server does, and GETs of chosen bindings answered 503 while they are "down". */
    static final class Dispatcher extends MergePatchCrudDispatcher {
        final Set<String> down = ConcurrentHashMap.newKeySet();

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            if ("GET".equals(request.getMethod()) && down.stream().anyMatch(uuid -> path.endsWith("/serverbindings/" + uuid))) {
                return new MockResponse().setResponseCode(503).setBody("{\"kind\":\"Status\",\"code\":503,\"message\":\"etcd unavailable\"}");
            }
            return super.dispatch(request);
        }
    }

    static final Dispatcher DISPATCHER = new Dispatcher();
    static final KubernetesMockServer API = Crds.crudServer(DISPATCHER);
    static final KubernetesClient CLIENT = API.createClient();
    static final Path OUTPUT = dev.siderolink.server.provision.StandaloneTestDirs.create("k8s-events").resolve("serverevents.jsonl");

    @DynamicPropertySource
    static void output(DynamicPropertyRegistry registry) {
        registry.add("siderolink.events.output", OUTPUT::toString);
    }

    @AfterAll
    static void stopApi() {
        CLIENT.close();
        API.destroy();
    }

    @TestConfiguration
    static class Support {
        @Bean
        KubernetesClient kubernetesClient() {
            return CLIENT;
        }
    }

    @Autowired ResourceStore resourceStore;

    @Override
    void createBinding(String uuid, InetAddress address, String metalMachine) {
        GenericKubernetesResource binding = ServerBindingResources.newBinding(uuid);
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("metalMachineRef", Map.of("namespace", "default", "name", metalMachine));
        spec.put("siderolink", Map.of("address", address.getHostAddress() + "/64", "publicKey", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        binding.setAdditionalProperty("spec", spec);
        CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).resource(binding).create();
        Awaitility.await("informer sees " + uuid).atMost(Duration.ofSeconds(10)).until(() -> resourceStore.binding(uuid).isPresent());
    }

    @Override
    void createMetalMachine(String name) {
        GenericKubernetesResource mm = new GenericKubernetesResource();
        mm.setApiVersion("infrastructure.cluster.x-k8s.io/v1alpha3");
        mm.setKind("MetalMachine");
        mm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("default")
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("cluster.x-k8s.io/v1beta1").withKind("Machine").withName("machine-" + name)
                        .withUid("00000000-0000-4000-8000-000000000000").build())
                .build());
        mm.setAdditionalProperty("spec", Map.of("serverRef", Map.of("name", "x")));
        GenericKubernetesResource created = CLIENT.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace("default").resource(mm).create();
        // status is a subresource: Sidero sets its own condition through it
        created.setAdditionalProperty("status", Map.of("conditions", java.util.List.of(Map.of("type", "Ready", "status", "True"))));
        CLIENT.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace("default").resource(created).updateStatus();
    }

    @Override
    NodeReport storedReport(String uuid) {
        ServerBinding binding = ServerBindingResources.toBinding(CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).withName(uuid).get());
        return new NodeReport(binding.conditions(), binding.addresses(), binding.hostname());
    }

    @Override
    MetalMachineStatus storedMetalMachine(String name) {
        GenericKubernetesResource mm = CLIENT.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace("default").withName(name).get();
        org.assertj.core.api.Assertions.assertThat(mm.get("spec", "serverRef", "name").toString()).as("Sidero's spec untouched").isEqualTo("x");
        MetalMachineStatus status = MetalMachineResources.toStatus(mm);
        org.assertj.core.api.Assertions.assertThat(Condition("Ready", status)).as("Sidero's own condition untouched").isNotNull();
        return status;
    }

    private static dev.siderolink.server.inventory.Condition Condition(String type, MetalMachineStatus status) {
        return dev.siderolink.server.inventory.Condition.find(status.conditions(), type);
    }

    @Override
    void breakStore(String uuid) {
        DISPATCHER.down.add(uuid);
    }

    @Override
    void healStore(String uuid) {
        DISPATCHER.down.remove(uuid);
    }

    @Override
    Path output() {
        return OUTPUT;
    }
}
