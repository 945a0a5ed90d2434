package dev.siderolink.server.inventory.kubernetes;

import static dev.siderolink.server.testing.RunningServer.component;
import static dev.siderolink.server.testing.RunningServer.details;
import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.StoreUnavailableException;
import dev.siderolink.server.testing.RunningServer;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import reactor.test.StepVerifier;

/**
 * The probes over HTTP while the Kubernetes API misbehaves, as an operator meets it: a service
 * account that may not list MetalMachines keeps the process unready (503, saying why) but alive
 * (200), and the fixed RBAC rule is picked up without a restart; an API outage after the caches
 * are complete leaves both probes at 200 (the cache keeps the last state, the informers reconnect).
 */
class KubernetesStoreProbesTest {

    /** Merge patches as an API server applies them; MetalMachine lists and watches forbidden while {@code forbidden}. */
    static final class RbacDispatcher extends MergePatchCrudDispatcher {
        volatile boolean forbidden = true;

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            if (forbidden && "GET".equals(request.getMethod()) && request.getPath().startsWith("/apis/infrastructure.cluster.x-k8s.io/v1alpha3/metalmachines")) {
                return new MockResponse().setResponseCode(403).setBody("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":403,"
                        + "\"reason\":\"Forbidden\",\"message\":\"metalmachines.infrastructure.cluster.x-k8s.io is forbidden: User "
                        + "\\\"system:serviceaccount:sidero-system:sidero\\\" cannot list resource \\\"metalmachines\\\" at the cluster scope\"}");
            }
            return super.dispatch(request);
        }
    }

    static KubernetesClient client;

    /** The app's client: fabric8's informer backoff starting at 100 ms instead of 1 s, so the test waits seconds, not a minute. */
    @TestConfiguration(proxyBeanMethods = false)
    static class Api {
        @Bean
        KubernetesClient kubernetesClient() {
            return client;
        }
    }

    @TempDir Path dir;

    @Test
    void forbiddenMetalMachinesKeepTheProcessUnreadyButAliveUntilRbacIsFixedAndAnOutageLaterFailsNeither() {
        RbacDispatcher dispatcher = new RbacDispatcher();
        KubernetesMockServer api = Crds.crudServer(dispatcher);
        client = new KubernetesClientBuilder().withConfig(new ConfigBuilder(Config.empty())
                .withMasterUrl(api.url("/"))
                .withWatchReconnectInterval(100)
                .withRequestRetryBackoffLimit(0)
                .withConnectionTimeout(2_000)
                .build()).build();
        try (RunningServer server = RunningServer.start(List.of(Api.class),
                "--siderolink.components=serverevents",
                "--siderolink.store=kubernetes",
                "--siderolink.namespace=sidero-system",
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("serverevents.jsonl"))) {

            Awaitility.await("the refused list is reported").atMost(Duration.ofSeconds(15))
                    .until(() -> metalMachines(server.health("/readiness", 503)).containsKey("lastError"));
            Map<String, Object> notReady = server.health("/readiness", 503);
            assertThat(notReady).containsEntry("status", "DOWN");
            assertThat(component(notReady, "store")).containsEntry("status", "DOWN");
            assertThat(details(notReady, "store")).containsEntry("type", "kubernetes").containsEntry("synced", false)
                    .hasEntrySatisfying("reason", reason -> assertThat((String) reason).contains("has not yet read every ServerBinding and MetalMachine"));
            assertThat(metalMachines(notReady)).containsEntry("synced", false)
                    .hasEntrySatisfying("lastError", error -> assertThat((String) error).contains("Forbidden"));
            assertThat(component(notReady, "serverevents")).as("the sink itself listens").containsEntry("status", "UP");
            assertThat(server.health("/liveness", 200)).containsEntry("status", "UP");

            dispatcher.forbidden = false; // the operator adds the missing ClusterRole rule
            Awaitility.await("ready without a restart").atMost(Duration.ofSeconds(20))
                    .untilAsserted(() -> server.health("/readiness", 200));
            Awaitility.await("watches open").atMost(Duration.ofSeconds(10))
                    .until(() -> Boolean.TRUE.equals(metalMachines(server.health("/readiness", 200)).get("watching")));

            api.destroy(); // the API server goes away
            StepVerifier.create(server.bean(ResourceStore.class).updateConditions("any-server", conditions -> conditions))
                    .expectError(StoreUnavailableException.class)
                    .verify(Duration.ofSeconds(20));
            for (int i = 0; i < 5; i++) { // the informers keep retrying meanwhile; neither probe fails
                assertThat(details(server.health("/readiness", 200), "store")).containsEntry("synced", true);
                assertThat(server.health("/liveness", 200)).containsEntry("status", "UP");
                sleep(500);
            }
        } finally {
            client.close();
            api.destroy();
        }
    }


    @SuppressWarnings("unchecked")
    private static Map<String, Object> metalMachines(Map<String, Object> health) {
        return (Map<String, Object>) details(health, "store").get("metalMachines");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
