package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.kubernetes.Crds;
import dev.siderolink.server.inventory.kubernetes.KubernetesResourceStore;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.ProvisionTestSupport;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/** Provision against the kubernetes store, on fabric8's mock API server in CRUD mode with the CRDs. */
@ExtendWith(OutputCaptureExtension.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "siderolink.components=link",
    "siderolink.store=kubernetes",
    "siderolink.namespace=sidero-system",
    "siderolink.api.port=0",
    "siderolink.provision.join-token=" + ProvisionContract.TOKEN,
    "siderolink.wireguard.endpoint=" + ProvisionContract.ENDPOINTS,
})
class KubernetesProvisionTest extends ProvisionContract {

    static final KubernetesMockServer API = Crds.crudServer(new KubernetesCrudDispatcher());
    static final KubernetesClient CLIENT = API.createClient();

    @AfterAll
    static void stopApi() {
        CLIENT.close();
        API.destroy();
    }

    @Autowired KubernetesResourceStore store;

    @TestConfiguration
    @Import(ProvisionTestSupport.class)
    static class Support {
        @Bean
        KubernetesClient kubernetesClient() {
            return CLIENT;
        }
    }

    @Override
    void createBinding(String uuid, String address) {
        GenericKubernetesResource binding = ServerBindingResources.newBinding(uuid);
        binding.getMetadata().setLabels(Map.of(ServerBindingResources.CLUSTER_NAME_LABEL, "management-cluster"));
        Map<String, Object> spec = new HashMap<>();
        spec.put("metalMachineRef", Map.of("namespace", "default", "name", "management-cluster-cp-vrff4"));
        if (address != null) {
            spec.put("siderolink", Map.of("address", address));
        }
        binding.setAdditionalProperty("spec", spec);
        CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).resource(binding).create();
        // the informer cache has it: collisions are checked there
        Awaitility.await("informer sees " + uuid).atMost(Duration.ofSeconds(10)).until(() -> store.binding(uuid).isPresent());
    }

    @Override
    ServerBinding.Siderolink stored(String uuid) {
        return ServerBindingResources.toBinding(CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).withName(uuid).get()).siderolink();
    }

    @Test
    void unknownServerIsNotFound(CapturedOutput output) {
        String uuid = uuid();
        assertThatThrownBy(() -> provision(uuid, ProvisionClient.newKey()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("server binding \"" + uuid + "\" not found");
                });
        assertThat(CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).withName(uuid).get()).isNull();
        assertRefusalLoggedOnce(output, uuid, "NOT_FOUND");
    }

    @Test
    void provisionLeavesTheRestOfTheBindingAlone() {
        String uuid = uuid();
        createBinding(uuid, null);
        provision(uuid, ProvisionClient.newKey());

        GenericKubernetesResource after = CLIENT.genericKubernetesResources(ServerBindingResources.CONTEXT).withName(uuid).get();
        ServerBinding binding = ServerBindingResources.toBinding(after);
        assertThat(binding.clusterName()).isEqualTo("management-cluster");
        assertThat(binding.metalMachineRef()).isEqualTo(new ServerBinding.MetalMachineRef("default", "management-cluster-cp-vrff4"));
    }

    @Test
    void theInstallationSecretIsInTheConfiguredNamespaceInTheReferenceShape() {
        Secret secret = CLIENT.secrets().inNamespace("sidero-system").withName("siderolink").get();
        assertThat(secret).isNotNull();
        assertThat(secret.getMetadata().getLabels()).containsKey("clusterctl.cluster.x-k8s.io/move");
        String installationId = new String(Base64.getDecoder().decode(secret.getData().get("installation-id")), StandardCharsets.UTF_8);
        String privateKey = new String(Base64.getDecoder().decode(secret.getData().get("private-key")), StandardCharsets.UTF_8);
        assertThat(installationId).isEqualTo(identity.installationId());
        assertThat(Base64.getDecoder().decode(privateKey)).hasSize(32);
        assertThat(identity.network().prefixText()).isEqualTo(dev.siderolink.server.installation.SiderolinkNetwork.fromInstallationId(installationId).prefixText());
    }
}
