package dev.siderolink.server.chart;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.talosapi.TalosPki;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.kubernetes.Crds;
import dev.siderolink.server.inventory.kubernetes.KubernetesResourceStore;
import dev.siderolink.server.inventory.kubernetes.MergePatchCrudDispatcher;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The chart's RBAC against the requests the server really makes: the Kubernetes store (the only
 * user of the API) runs against fabric8's mock API server through every kind of write it has,
 * each request is turned into what the API server authorizes (verb, group, resource,
 * subresource, namespace, name), and the rendered ClusterRole and Role must allow every one of
 * them, and grant nothing that no request used.
 */
@Timeout(60)
class ChartRbacTest {

    private static final String NAMESPACE = RenderedChart.NAMESPACE;

    private KubernetesMockServer server;
    private KubernetesClient client;
    private KubernetesResourceStore store;

    @BeforeEach
    void startMock() {
        server = Crds.crudServer(new MergePatchCrudDispatcher());
        client = server.createClient();
    }

    @AfterEach
    void stopMock() {
        if (store != null) {
            store.stop();
        }
        client.close();
        server.destroy();
    }

    /** What the API server's authorizer sees of one request. */
    record Access(String verb, String group, String resource, String namespace, String name) {
        @Override
        public String toString() {
            return verb + " " + (group.isEmpty() ? "" : group + "/") + resource + (namespace == null ? "" : " in " + namespace)
                    + (name == null ? "" : " named " + name);
        }
    }

    /** The request attributes of Kubernetes' API paths (/api/v1/..., /apis/group/version/...). */
    static Access access(RecordedRequest request) {
        URI uri = URI.create(request.getPath());
        List<String> parts = new ArrayList<>(List.of(uri.getPath().substring(1).split("/")));
        String group;
        if (parts.get(0).equals("api")) {
            group = "";
            parts = parts.subList(2, parts.size());
        } else {
            group = parts.get(1);
            parts = parts.subList(3, parts.size());
        }
        String namespace = null;
        if (parts.size() >= 2 && parts.get(0).equals("namespaces")) {
            namespace = parts.get(1);
            parts = parts.subList(2, parts.size());
        }
        String resource = parts.get(0);
        String name = parts.size() > 1 ? parts.get(1) : null;
        if (parts.size() > 2) {
            resource += "/" + parts.get(2);
        }
        boolean watch = uri.getQuery() != null && List.of(uri.getQuery().split("&")).contains("watch=true");
        String verb = switch (request.getMethod()) {
            case "GET" -> name != null ? "get" : watch ? "watch" : "list";
            case "POST" -> "create";
            case "PUT" -> "update";
            case "PATCH" -> "patch";
            case "DELETE" -> name != null ? "delete" : "deletecollection";
            default -> throw new AssertionError("unexpected request " + request.getRequestLine());
        };
        return new Access(verb, group, resource, namespace, name);
    }

    /** Kubernetes RBAC: a rule allows a request when group, resource, verb and (if the rule lists any) name match. */
    static boolean allows(PolicyRule rule, Access access) {
        List<String> names = rule.getResourceNames() == null ? List.of() : rule.getResourceNames();
        return rule.getApiGroups().contains(access.group())
                && rule.getResources().contains(access.resource())
                && rule.getVerbs().contains(access.verb())
                && (names.isEmpty() || (access.name() != null && names.contains(access.name())));
    }

    private List<RecordedRequest> drain() throws InterruptedException {
        List<RecordedRequest> requests = new ArrayList<>();
        for (RecordedRequest r = server.takeRequest(100, TimeUnit.MILLISECONDS); r != null; r = server.takeRequest(100, TimeUnit.MILLISECONDS)) {
            requests.add(r);
        }
        return requests;
    }

    @Test
    void everyRequestTheServerMakesIsAllowedAndEveryGrantIsUsed() throws Exception {
        String uuid = UUID.randomUUID().toString();
        GenericKubernetesResource binding = ServerBindingResources.newBinding(uuid);
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) binding.getAdditionalProperties().get("spec");
        spec.put("metalMachineRef", Map.of("namespace", "workload", "name", "mm-1"));
        client.genericKubernetesResources(ServerBindingResources.CONTEXT).resource(binding).create();
        client.genericKubernetesResources(MetalMachineResources.CONTEXT).inNamespace("workload").resource(client.getKubernetesSerialization().unmarshal("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  name: mm-1
                  namespace: workload
                spec: {}
                """, GenericKubernetesResource.class)).create();
        drain(); // the test's own set-up

        // everything the server does with the API: its informers, the installation Secret
        // (created, then read on the next start), Provision, events and connectivity writes
        store = new KubernetesResourceStore(client, NAMESPACE);
        store.start();
        Awaitility.await("informers synced").atMost(Duration.ofSeconds(20)).until(store::isSynced);
        List<RecordedRequest> requests = new ArrayList<>();
        Awaitility.await("both watches open").atMost(Duration.ofSeconds(20)).until(() -> {
            requests.addAll(drain());
            return requests.stream().map(ChartRbacTest::access).filter(a -> a.verb().equals("watch")).count() >= 2;
        });
        InstallationSecret secret = new InstallationSecret("aWQ=", "a2V5");
        assertThat(store.loadOrCreateInstallationSecret(() -> secret).block(Duration.ofSeconds(10))).isEqualTo(secret);
        assertThat(store.loadOrCreateInstallationSecret(() -> null).block(Duration.ofSeconds(10))).isEqualTo(secret);
        // the Talos API CA of serverevents: created, then read on the next start
        Map<String, String> ca = Map.of(TalosPki.CERT_KEY, "crt", TalosPki.KEY_KEY, "key");
        assertThat(store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> ca).block(Duration.ofSeconds(10))).isEqualTo(ca);
        assertThat(store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> null).block(Duration.ofSeconds(10))).isEqualTo(ca);
        store.updateSiderolink(uuid, s -> new ServerBinding.Siderolink("fdae:2859:5bb1:7a03::100/64", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
                .block(Duration.ofSeconds(10));
        Instant now = Instant.parse("2024-05-01T12:00:00Z");
        store.updateConditions(uuid, c -> Condition.set(c, Condition.isTrue("SideroLinkConnected"), now)).block(Duration.ofSeconds(10));
        store.updateReport(uuid, r -> new NodeReport(Condition.set(r.conditions(), Condition.isTrue("TalosInstalled"), now), List.of("192.0.2.7"), "node-1"))
                .block(Duration.ofSeconds(10));
        assertThat(store.updateMetalMachineStatus(new MetalMachine.Key("workload", "mm-1"),
                s -> new MetalMachineStatus(Condition.set(s.conditions(), Condition.isTrue("TalosInstalled"), now),
                        List.of(new MetalMachineStatus.Address(MetalMachineStatus.Address.INTERNAL_IP, "192.0.2.7"))))
                .block(Duration.ofSeconds(10))).isTrue();
        requests.addAll(drain());

        RenderedChart chart = RenderedChart.render("");
        List<PolicyRule> clusterRules = chart.clusterRole().getRules();
        List<PolicyRule> namespaceRules = chart.role().getRules();
        Set<String> used = new LinkedHashSet<>();
        List<Access> denied = new ArrayList<>();
        for (RecordedRequest request : requests) {
            Access access = access(request);
            // a Role applies in its own namespace only; the ClusterRole everywhere
            boolean allowed = false;
            for (PolicyRule rule : clusterRules) {
                if (allows(rule, access)) {
                    allowed = true;
                    used.add("ClusterRole " + access.group() + " " + access.resource() + " " + access.verb());
                }
            }
            if (NAMESPACE.equals(access.namespace())) {
                for (PolicyRule rule : namespaceRules) {
                    if (allows(rule, access)) {
                        allowed = true;
                        used.add("Role " + access.group() + " " + access.resource() + " " + access.verb());
                    }
                }
            }
            if (!allowed) {
                denied.add(access);
            }
        }
        assertThat(denied).as("requests the chart's RBAC would deny").isEmpty();

        Set<String> granted = new LinkedHashSet<>();
        HelmChartTest.rules(clusterRules).forEach(r -> granted.add("ClusterRole " + r.replaceAll(" \\[.*]$", "")));
        HelmChartTest.rules(namespaceRules).forEach(r -> granted.add("Role " + r.replaceAll(" \\[.*]$", "")));
        assertThat(used).as("grants used by some request").containsExactlyInAnyOrderElementsOf(granted);
        assertThat(requests).extracting(r -> access(r).toString()).as("watches are cluster-wide")
                .contains("watch infrastructure.cluster.x-k8s.io/serverbindings", "watch infrastructure.cluster.x-k8s.io/metalmachines",
                        "patch infrastructure.cluster.x-k8s.io/metalmachines/status in workload named mm-1");
    }
}
