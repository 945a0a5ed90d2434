package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.server.testing.GrpcPort;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.ProvisionTestSupport;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Standalone store with auto-accept off and no join token configured. */
@ExtendWith(OutputCaptureExtension.class)
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
    "siderolink.components=link",
    "siderolink.api.port=0",
    "siderolink.standalone.auto-accept=false",
    "siderolink.wireguard.endpoint=192.0.2.1",
})
class StandaloneNoAutoAcceptProvisionTest {

    static final Path DIR = StandaloneTestDirs.create("standalone-no-accept");

    @Autowired GrpcPort grpcPort;

    @DynamicPropertySource
    static void dir(DynamicPropertyRegistry registry) {
        registry.add("siderolink.standalone.dir", DIR::toString);
    }

    @TestConfiguration
    @Import(ProvisionTestSupport.class)
    static class Support {}

    @Test
    void unknownServerIsNotFoundAndNothingIsWritten(CapturedOutput output) throws Exception {
        String uuid = UUID.randomUUID().toString();
        try (ProvisionClient client = new ProvisionClient("127.0.0.1", grpcPort.get())) {
            assertThatThrownBy(() -> client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                        assertThat(e.getStatus().getDescription()).isEqualTo("server binding \"" + uuid + "\" not found");
                    });
        }
        assertThat(Files.exists(DIR.resolve("serverbindings").resolve(uuid + ".yaml"))).isFalse();
        ProvisionContract.assertRefusalLoggedOnce(output, uuid, "NOT_FOUND");
    }

    @Test
    void withoutAConfiguredTokenNoTokenIsNeeded() throws Exception {
        String uuid = UUID.randomUUID().toString();
        Files.writeString(DIR.resolve("serverbindings").resolve(uuid + ".yaml"), """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: ServerBinding
                metadata:
                  name: %s
                spec: {}
                """.formatted(uuid));
        try (ProvisionClient client = new ProvisionClient("127.0.0.1", grpcPort.get())) {
            // the file is picked up by the next rescan (1 s by default); until then: NOT_FOUND
            Awaitility.await("provision accepted").atMost(Duration.ofSeconds(10)).ignoreExceptionsInstanceOf(StatusRuntimeException.class)
                    .untilAsserted(() -> assertThat(client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).build()).getServerEndpointList())
                            .containsExactly("192.0.2.1:51821"));
        }
    }
}
