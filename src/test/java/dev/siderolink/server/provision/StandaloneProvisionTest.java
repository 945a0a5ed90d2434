package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.standalone.StandaloneResourceStore;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.ProvisionTestSupport;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Provision against the standalone store (the default), auto-accept on. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "siderolink.components=link",
    "siderolink.api.port=0",
    "siderolink.provision.join-token=" + ProvisionContract.TOKEN,
    "siderolink.wireguard.endpoint=" + ProvisionContract.ENDPOINTS,
    "siderolink.standalone.rescan-interval=100ms",
})
class StandaloneProvisionTest extends ProvisionContract {

    static final Path DIR = StandaloneTestDirs.create("standalone-provision");
    private final KubernetesSerialization yaml = new KubernetesSerialization();

    @Autowired StandaloneResourceStore store;

    @DynamicPropertySource
    static void dir(DynamicPropertyRegistry registry) {
        registry.add("siderolink.standalone.dir", DIR::toString);
    }

    @TestConfiguration
    @Import(ProvisionTestSupport.class)
    static class Support {}

    private Path file(String uuid) {
        return DIR.resolve("serverbindings").resolve(uuid + ".yaml");
    }

    @Override
    void createBinding(String uuid, String address) {
        GenericKubernetesResource binding = ServerBindingResources.newBinding(uuid);
        if (address != null) {
            ServerBindingResources.setSiderolink(binding, new ServerBinding.Siderolink(address, null));
        }
        try {
            Path temp = Files.createTempFile(DIR, "hand", ".part");
            Files.writeString(temp, yaml.asYaml(binding));
            Files.move(temp, file(uuid)); // as an operator would drop a file in
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        awaitLoaded(uuid);
    }

    private void awaitLoaded(String uuid) {
        Awaitility.await("rescan picks up " + uuid).atMost(Duration.ofSeconds(10)).until(() -> store.binding(uuid).isPresent());
    }

    @Override
    ServerBinding.Siderolink stored(String uuid) {
        try {
            return ServerBindingResources.toBinding(yaml.unmarshal(Files.readString(file(uuid)), GenericKubernetesResource.class)).siderolink();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void autoAcceptsAnUnknownServerAndWritesItsBindingFile() throws IOException {
        String uuid = uuid();
        String key = ProvisionClient.newKey();

        String address = provision(uuid, key).getNodeAddressPrefix();

        String text = Files.readString(file(uuid));
        assertThat(text).contains("kind: \"ServerBinding\"").contains("apiVersion: \"infrastructure.cluster.x-k8s.io/v1alpha3\"");
        assertThat(stored(uuid)).isEqualTo(new ServerBinding.Siderolink(address, key));
    }
}
