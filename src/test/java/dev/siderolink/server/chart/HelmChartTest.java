package dev.siderolink.server.chart;

import static dev.siderolink.server.chart.RenderedChart.ENDPOINT;
import static dev.siderolink.server.chart.RenderedChart.NAMESPACE;
import static dev.siderolink.server.chart.RenderedChart.RELEASE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.util.FileSystemUtils;

/**
 * The Helm chart as an operator installs it: linted and rendered by real Helm, then read back as
 * Kubernetes objects. What it must guarantee: one pod, three containers of one image, only
 * {@code link} privileged (NET_ADMIN and /dev/net/tun), an Actuator port and probes per container,
 * the Services nodes use, least-privilege RBAC, the join token only through a Secret.
 * ({@link ChartEnvironmentTest} binds the rendered environment to the server's properties,
 * {@link ChartRbacTest} checks the RBAC against the requests the server really makes.)
 */
class HelmChartTest {

    static final List<String> CONTAINERS = List.of("link", "serverlogs", "serverevents");

    private final RenderedChart defaults = RenderedChart.render("");

    // ---- lint and required values ----

    @Test
    void lintsWithoutWarningsOnceTheEndpointIsSet(@TempDir Path dir) throws Exception {
        // helm lint takes no values here: lint a copy whose values.yaml sets the one required value
        Path chart = dir.resolve("siderolink-server");
        FileSystemUtils.copyRecursively(RenderedChart.CHART, chart);
        Path values = chart.resolve("values.yaml");
        String original = Files.readString(values);
        assertThat(original).contains("  endpoint: \"\"\n");
        Files.writeString(values, original.replace("  endpoint: \"\"\n", "  endpoint: " + ENDPOINT + "\n"));

        LintResult result = new Helm(chart).lint().strict().call();

        assertThat(result.isFailed()).as("lint: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).as("only the icon suggestion may remain")
                .allSatisfy(m -> assertThat(m).startsWith("[INFO]").contains("icon is recommended"));
    }

    @Test
    void lintsWithoutWarningsAsShipped() {
        // lint does not enforce `required` (it renders the missing endpoint as empty): templating does, below
        LintResult result = new Helm(RenderedChart.CHART).lint().strict().call();

        assertThat(result.isFailed()).as("lint: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).allSatisfy(m -> assertThat(m).startsWith("[INFO]").contains("icon is recommended"));
    }

    @Test
    void templatingWithoutEndpointFailsSayingWhatToSet() {
        assertThatThrownBy(() -> RenderedChart.renderRaw(""))
                .hasMessageContaining("wireguard.endpoint is required")
                .hasMessageContaining("--set wireguard.endpoint=");
    }

    @Test
    void notesTellHowToReachTheServicesAndFollowEachStream(@TempDir Path dir) throws Exception {
        // helm template leaves NOTES.txt out: render it as a ConfigMap of a copy of the chart
        Path chart = dir.resolve("siderolink-server");
        FileSystemUtils.copyRecursively(RenderedChart.CHART, chart);
        String notes = Files.readString(chart.resolve("templates/NOTES.txt"));
        Files.delete(chart.resolve("templates/NOTES.txt"));
        Files.writeString(chart.resolve("templates/notes.tpl"), "{{- define \"test.notes\" -}}\n" + notes + "{{- end }}\n");
        Files.writeString(chart.resolve("templates/notes.yaml"),
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ include \"test.notes\" . | quote }}\n");
        Path values = Files.writeString(dir.resolve("values.yaml"), "wireguard: {endpoint: 203.0.113.10}\nprovision: {joinToken: {value: t}}\n");
        String rendered = new Helm(chart).template().withName(RELEASE).withNamespace(NAMESPACE).withValuesFile(values).call();
        String text = RenderedChart.parse(rendered).stream().filter(ConfigMap.class::isInstance).map(ConfigMap.class::cast)
                .findFirst().orElseThrow().getData().get("notes");
        assertThat(text)
                .contains("203.0.113.10")
                .contains("kubectl -n sidero-system get service siderolink-server-wireguard")
                .contains("siderolink.api=<api service address>:8081?jointoken=<token>")
                .contains("kubectl -n sidero-system logs deployment/siderolink-server -c serverlogs -f")
                .contains("kubectl -n sidero-system logs deployment/siderolink-server -c serverevents -f")
                .contains("talos.logging.kernel=tcp://[<prefix>::1]:4001")
                .contains("talos.events.sink=[<prefix>::1]:4002");
    }

    // ---- the pod ----

    @Test
    void oneReplicaReplacedByRecreateRunningThreeComponentsOfOneImage() throws Exception {
        Deployment deployment = defaults.deployment();
        assertThat(deployment.getMetadata().getName()).isEqualTo(RELEASE);
        assertThat(deployment.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(deployment.getSpec().getReplicas()).isEqualTo(1);
        assertThat(deployment.getSpec().getStrategy().getType()).isEqualTo("Recreate");
        PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        assertThat(pod.getContainers()).extracting(Container::getName, Container::getArgs).containsExactly(
                tuple("link", List.of("link")), tuple("serverlogs", List.of("serverlogs")), tuple("serverevents", List.of("serverevents")));
        assertThat(pod.getContainers()).extracting(Container::getImage).containsOnly("siderolink-server:" + pomVersion());
        assertThat(pod.getContainers()).extracting(Container::getCommand).as("the image's entrypoint is used").containsOnly(List.of());
        assertThat(pod.getHostNetwork()).as("own network namespace").isNotEqualTo(Boolean.TRUE);
        assertThat(deployment.getSpec().getSelector().getMatchLabels()).isNotEmpty();
        assertThat(deployment.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
    }

    @Test
    void onlyLinkGetsNetAdminAndTheTunDevice() {
        PodSpec pod = defaults.deployment().getSpec().getTemplate().getSpec();
        Volume tun = pod.getVolumes().stream().filter(v -> v.getHostPath() != null).findFirst().orElseThrow();
        assertThat(tun.getHostPath().getPath()).isEqualTo("/dev/net/tun");
        assertThat(tun.getHostPath().getType()).isEqualTo("CharDevice");
        assertThat(pod.getVolumes()).filteredOn(v -> v.getHostPath() != null).as("no other host path").hasSize(1);

        Container link = defaults.container("link");
        assertThat(link.getVolumeMounts()).extracting(VolumeMount::getName, VolumeMount::getMountPath)
                .contains(tuple(tun.getName(), "/dev/net/tun"));
        SecurityContext linkSecurity = link.getSecurityContext();
        assertThat(linkSecurity.getCapabilities().getAdd()).containsExactly("NET_ADMIN");
        assertThat(linkSecurity.getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(linkSecurity.getPrivileged()).isNotEqualTo(Boolean.TRUE);
        assertThat(linkSecurity.getAllowPrivilegeEscalation()).isFalse();
        assertThat(linkSecurity.getReadOnlyRootFilesystem()).isTrue();
        // wireguard-go's control socket directory must be writable on the read-only root
        assertThat(link.getVolumeMounts()).extracting(VolumeMount::getMountPath).contains("/var/run/wireguard", "/tmp");

        for (String name : List.of("serverlogs", "serverevents")) {
            Container container = defaults.container(name);
            SecurityContext security = container.getSecurityContext();
            assertThat(security.getRunAsNonRoot()).as(name).isTrue();
            assertThat(security.getRunAsUser()).as(name).isNotNull().isNotZero();
            assertThat(security.getAllowPrivilegeEscalation()).as(name).isFalse();
            assertThat(security.getReadOnlyRootFilesystem()).as(name).isTrue();
            assertThat(security.getPrivileged()).as(name).isNotEqualTo(Boolean.TRUE);
            assertThat(security.getCapabilities().getDrop()).as(name).containsExactly("ALL");
            assertThat(security.getCapabilities().getAdd()).as(name).isNullOrEmpty();
            assertThat(container.getVolumeMounts()).extracting(VolumeMount::getName).as(name).doesNotContain(tun.getName());
            // Netty unpacks its native transport (IP_FREEBIND) to java.io.tmpdir
            assertThat(container.getVolumeMounts()).extracting(VolumeMount::getMountPath).as(name).containsExactly("/tmp");
        }
        assertThat(pod.getContainers()).extracting(c -> c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals("/tmp")).findFirst().orElseThrow().getName())
                .as("a /tmp of its own per container").doesNotHaveDuplicates();
        assertThat(pod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
    }

    @Test
    void eachContainerHasItsOwnActuatorPortWithProbesOnIt() {
        Set<Integer> ports = new TreeSet<>();
        for (String name : CONTAINERS) {
            Container container = defaults.container(name);
            int port = Integer.parseInt(defaults.env(name).get("SERVER_PORT"));
            ports.add(port);
            assertThat(container.getPorts()).extracting(ContainerPort::getContainerPort, ContainerPort::getProtocol).as(name).contains(tuple(port, "TCP"));
            assertProbe(container.getLivenessProbe(), "/actuator/health/liveness", port, name);
            assertProbe(container.getReadinessProbe(), "/actuator/health/readiness", port, name);
            assertProbe(container.getStartupProbe(), "/actuator/health/liveness", port, name);
        }
        assertThat(ports).as("three containers in one network namespace").hasSize(3);
        List<String> all = new ArrayList<>();
        for (Container c : defaults.deployment().getSpec().getTemplate().getSpec().getContainers()) {
            c.getPorts().forEach(p -> all.add(p.getContainerPort() + "/" + p.getProtocol()));
        }
        assertThat(all).as("ports of the pod").doesNotHaveDuplicates().contains("51821/UDP", "8081/TCP");
    }

    private static void assertProbe(Probe probe, String path, int port, String container) {
        assertThat(probe).as(container + " probe " + path).isNotNull();
        assertThat(probe.getHttpGet().getPath()).as(container).isEqualTo(path);
        assertThat(probe.getHttpGet().getPort().getIntVal()).as(container).isEqualTo(port);
    }

    @Test
    void everyContainerUsesTheKubernetesStoreInTheReleaseNamespace() {
        for (String name : CONTAINERS) {
            assertThat(defaults.env(name)).as(name)
                    .containsEntry("SIDEROLINK_STORE", "kubernetes")
                    .containsEntry("SIDEROLINK_NAMESPACE", NAMESPACE);
        }
        RenderedChart moved = RenderedChart.render("namespaceOverride: sidero-link\n");
        assertThat(moved.env("serverlogs")).containsEntry("SIDEROLINK_NAMESPACE", "sidero-link");
        assertThat(moved.objects).filteredOn(o -> o.getMetadata().getNamespace() != null)
                .extracting(o -> o.getMetadata().getNamespace()).containsOnly("sidero-link");
    }

    // ---- Services ----

    @Test
    void servicesExposeWireGuardOverUdpAndProvisionOverTcpToThePod() {
        Map<String, String> podLabels = defaults.deployment().getSpec().getTemplate().getMetadata().getLabels();
        Service wireguard = defaults.service("wireguard");
        assertThat(wireguard.getSpec().getType()).isEqualTo("LoadBalancer");
        assertThat(wireguard.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(51821);
            assertThat(p.getProtocol()).isEqualTo("UDP");
            assertThat(containerPortNamed("link", p.getTargetPort().getStrVal())).isEqualTo("51821/UDP");
        });
        Service api = defaults.service("api");
        assertThat(api.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(8081);
            assertThat(p.getProtocol()).isEqualTo("TCP");
            assertThat(containerPortNamed("link", p.getTargetPort().getStrVal())).isEqualTo("8081/TCP");
        });
        Service talosApi = defaults.service("talos-api");
        assertThat(talosApi.getSpec().getType()).as("talosctl's port is not exposed outside the cluster unless asked").isEqualTo("ClusterIP");
        assertThat(talosApi.getSpec().getPorts()).singleElement().satisfies(p -> {
            assertThat(p.getPort()).isEqualTo(50000);
            assertThat(p.getProtocol()).isEqualTo("TCP");
            assertThat(containerPortNamed("serverevents", p.getTargetPort().getStrVal())).isEqualTo("50000/TCP");
        });
        for (Service service : List.of(wireguard, api, talosApi)) {
            assertThat(podLabels).containsAllEntriesOf(service.getSpec().getSelector());
            assertThat(service.getSpec().getPublishNotReadyAddresses()).as("a slow stream container must not cut the tunnels").isTrue();
        }
        assertThat(defaults.all(Service.class)).hasSize(3);
    }

    private String containerPortNamed(String container, String name) {
        return defaults.container(container).getPorts().stream().filter(p -> name.equals(p.getName()))
                .map(p -> p.getContainerPort() + "/" + p.getProtocol()).findFirst().orElseThrow(() -> new AssertionError("no port " + name));
    }

    @Test
    void customPortsServiceTypesAndPlacementAreRenderedEverywhereTheyMatter() {
        RenderedChart custom = RenderedChart.render("""
                wireguard:
                  port: 51999
                  service: {type: NodePort, nodePort: 31999, annotations: {example.com/lb: wg}}
                api:
                  port: 9081
                  service: {type: ClusterIP}
                logs: {port: 5001}
                events: {port: 5002}
                link: {httpPort: 9180, resources: {limits: {memory: 1Gi}}}
                serverlogs: {httpPort: 9182, extraEnv: [{name: SIDEROLINK_LOGS_MAXMESSAGESIZE, value: 128KB}]}
                serverevents: {httpPort: 9183, logLevel: DEBUG}
                extraEnv: [{name: TZ, value: UTC}]
                image: {repository: registry.example.com/siderolink-server, tag: "1.2.3", pullPolicy: Always}
                imagePullSecrets: [{name: regcred}]
                serviceAccount: {name: sidero-link}
                nodeSelector: {node-role.kubernetes.io/control-plane: ""}
                tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
                affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: metal, operator: In, values: ["true"]}]}]}}}
                """);
        Service wireguard = custom.service("wireguard");
        assertThat(wireguard.getSpec().getType()).isEqualTo("NodePort");
        assertThat(wireguard.getSpec().getPorts().get(0).getPort()).isEqualTo(51999);
        assertThat(wireguard.getSpec().getPorts().get(0).getNodePort()).isEqualTo(31999);
        assertThat(wireguard.getMetadata().getAnnotations()).containsEntry("example.com/lb", "wg");
        assertThat(custom.service("api").getSpec().getType()).isEqualTo("ClusterIP");
        assertThat(custom.service("api").getSpec().getPorts().get(0).getPort()).isEqualTo(9081);

        assertThat(custom.env("link")).containsEntry("SIDEROLINK_WIREGUARD_PORT", "51999").containsEntry("SIDEROLINK_API_PORT", "9081")
                .containsEntry("SERVER_PORT", "9180").containsEntry("TZ", "UTC");
        assertThat(custom.container("link").getPorts()).extracting(ContainerPort::getContainerPort).containsExactlyInAnyOrder(51999, 9081, 9180);
        assertThat(custom.env("serverlogs")).containsEntry("SIDEROLINK_LOGS_PORT", "5001").containsEntry("SERVER_PORT", "9182")
                .containsEntry("SIDEROLINK_LOGS_MAXMESSAGESIZE", "128KB").containsEntry("TZ", "UTC");
        assertThat(custom.env("serverevents")).containsEntry("SIDEROLINK_EVENTS_PORT", "5002").containsEntry("SERVER_PORT", "9183")
                .containsEntry("LOGGING_LEVEL_ROOT", "DEBUG").doesNotContainKey("SIDEROLINK_LOGS_MAXMESSAGESIZE");
        assertThat(custom.container("serverevents").getReadinessProbe().getHttpGet().getPort().getIntVal()).isEqualTo(9183);
        assertThat(custom.container("link").getResources().getLimits()).containsEntry("memory", new Quantity("1Gi"));

        PodSpec pod = custom.deployment().getSpec().getTemplate().getSpec();
        assertThat(pod.getContainers()).extracting(Container::getImage, Container::getImagePullPolicy)
                .containsOnly(tuple("registry.example.com/siderolink-server:1.2.3", "Always"));
        assertThat(pod.getImagePullSecrets()).extracting(r -> r.getName()).containsExactly("regcred");
        assertThat(pod.getServiceAccountName()).isEqualTo("sidero-link");
        assertThat(custom.one(ServiceAccount.class).getMetadata().getName()).isEqualTo("sidero-link");
        assertThat(pod.getNodeSelector()).containsEntry("node-role.kubernetes.io/control-plane", "");
        assertThat(pod.getTolerations()).singleElement().satisfies(t -> assertThat(t.getEffect()).isEqualTo("NoSchedule"));
        assertThat(pod.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().getNodeSelectorTerms()).hasSize(1);
    }

    // ---- settings passed to the server ----

    @Test
    void negativeAddressFilterReachesOnlyServerEventsAsOneCommaSeparatedProperty() {
        RenderedChart filtered = RenderedChart.render("events:\n  negativeAddressFilter: [10.5.0.0/16, \"fd00:1::/64\"]\n");
        assertThat(filtered.env("serverevents")).containsEntry("SIDEROLINK_EVENTS_NEGATIVEADDRESSFILTER", "10.5.0.0/16,fd00:1::/64");
        assertThat(filtered.env("link")).doesNotContainKey("SIDEROLINK_EVENTS_NEGATIVEADDRESSFILTER");
        assertThat(defaults.env("serverevents")).doesNotContainKey("SIDEROLINK_EVENTS_NEGATIVEADDRESSFILTER");
    }

    @Test
    void endpointGoesToLinkOnly() {
        assertThat(defaults.env("link")).containsEntry("SIDEROLINK_WIREGUARD_ENDPOINT", ENDPOINT);
        assertThat(defaults.env("serverlogs")).doesNotContainKey("SIDEROLINK_WIREGUARD_ENDPOINT");
    }

    @Test
    void joinTokenGivenAsValueIsStoredInASecretAndReachesOnlyLinkThroughSecretKeyRef() {
        RenderedChart withToken = RenderedChart.render("provision:\n  joinToken:\n    value: s3cret-t0ken\n");
        Secret secret = withToken.one(Secret.class);
        assertThat(secret.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        var ref = withToken.container("link").getEnv().stream().filter(e -> e.getName().equals("SIDEROLINK_PROVISION_JOIN_TOKEN"))
                .findFirst().orElseThrow().getValueFrom().getSecretKeyRef();
        assertThat(ref.getName()).isEqualTo(secret.getMetadata().getName());
        assertThat(new String(Base64.getDecoder().decode(secret.getData().get(ref.getKey())), StandardCharsets.UTF_8)).isEqualTo("s3cret-t0ken");
        assertThat(withToken.yaml).as("the token appears nowhere but in the Secret's data").doesNotContain("s3cret-t0ken");
        for (String other : List.of("serverlogs", "serverevents")) {
            assertThat(withToken.container(other).getEnv()).extracting(e -> e.getName()).doesNotContain("SIDEROLINK_PROVISION_JOIN_TOKEN");
        }
    }

    @Test
    void joinTokenFromAnExistingSecretCreatesNoSecret() {
        RenderedChart existing = RenderedChart.render("provision:\n  joinToken:\n    existingSecret: my-token\n    existingSecretKey: token\n");
        assertThat(existing.all(Secret.class)).isEmpty();
        var ref = existing.container("link").getEnv().stream().filter(e -> e.getName().equals("SIDEROLINK_PROVISION_JOIN_TOKEN"))
                .findFirst().orElseThrow().getValueFrom().getSecretKeyRef();
        assertThat(ref.getName()).isEqualTo("my-token");
        assertThat(ref.getKey()).isEqualTo("token");
    }

    @Test
    void withoutJoinTokenNothingIsRequiredOfNodes() {
        assertThat(defaults.all(Secret.class)).isEmpty();
        assertThat(defaults.env("link")).doesNotContainKey("SIDEROLINK_PROVISION_JOIN_TOKEN");
        assertThatThrownBy(() -> RenderedChart.render("provision:\n  joinToken: {value: a, existingSecret: b}\n"))
                .hasMessageContaining("set either value or existingSecret, not both");
    }

    // ---- RBAC ----

    @Test
    void clusterRoleGrantsExactlyWhatTheStoreDoesWithServerBindingsAndMetalMachines() {
        assertThat(rules(defaults.clusterRole().getRules())).containsExactlyInAnyOrder(
                "infrastructure.cluster.x-k8s.io serverbindings get",
                "infrastructure.cluster.x-k8s.io serverbindings list",
                "infrastructure.cluster.x-k8s.io serverbindings watch",
                "infrastructure.cluster.x-k8s.io serverbindings patch",
                "infrastructure.cluster.x-k8s.io serverbindings/status patch",
                "infrastructure.cluster.x-k8s.io metalmachines get",
                "infrastructure.cluster.x-k8s.io metalmachines list",
                "infrastructure.cluster.x-k8s.io metalmachines watch",
                "infrastructure.cluster.x-k8s.io metalmachines/status patch");
        ClusterRoleBinding binding = defaults.one(ClusterRoleBinding.class);
        assertThat(binding.getRoleRef().getName()).isEqualTo(defaults.clusterRole().getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(defaults.deployment().getSpec().getTemplate().getSpec().getServiceAccountName());
            assertThat(s.getNamespace()).isEqualTo(NAMESPACE);
        });
    }

    @Test
    void roleGrantsGetOnTheInstallationSecretAndCreateOfSecretsInTheReleaseNamespaceOnly() {
        assertThat(defaults.role().getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(rules(defaults.role().getRules())).containsExactlyInAnyOrder(
                " secrets get [siderolink, siderolink-talos-ca]",
                " secrets create");
        RoleBinding binding = defaults.one(RoleBinding.class);
        assertThat(binding.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        assertThat(binding.getRoleRef().getName()).isEqualTo(defaults.role().getMetadata().getName());
        assertThat(binding.getSubjects()).singleElement().satisfies(s -> assertThat(s.getName()).isEqualTo(
                defaults.deployment().getSpec().getTemplate().getSpec().getServiceAccountName()));
        assertThat(defaults.one(ServiceAccount.class).getMetadata().getName()).isEqualTo(binding.getSubjects().get(0).getName());
    }

    @Test
    void rbacAndServiceAccountCanBeLeftToTheOperator() {
        RenderedChart none = RenderedChart.render("rbac: {create: false}\nserviceAccount: {create: false, name: sidero-link}\n");
        assertThat(none.objects).extracting(o -> o.getKind()).doesNotContain("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount");
        assertThat(none.deployment().getSpec().getTemplate().getSpec().getServiceAccountName()).isEqualTo("sidero-link");
        assertThatThrownBy(() -> RenderedChart.render("serviceAccount: {create: false}\n")).hasMessageContaining("serviceAccount.name is required");
    }

    /** One string per (group, resource, verb[, names]): "group resource verb [names]". */
    static List<String> rules(List<PolicyRule> rules) {
        List<String> result = new ArrayList<>();
        for (PolicyRule rule : rules) {
            String names = rule.getResourceNames() == null || rule.getResourceNames().isEmpty() ? "" : " " + rule.getResourceNames();
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    for (String verb : rule.getVerbs()) {
                        result.add(group + " " + resource + " " + verb + names);
                    }
                }
            }
        }
        return result;
    }

    // ---- documentation ----

    @Test
    void everyValueIsInTheDeploymentDocsTable() throws Exception {
        String docs = Files.readString(Path.of(System.getProperty("basedir", "."), "docs", "deployment.md"));
        int start = docs.indexOf("\n## Values");
        assertThat(start).as("a \"## Values\" section").isNotNegative();
        int end = docs.indexOf("\n## ", start + 1);
        String section = docs.substring(start, end < 0 ? docs.length() : end);
        Set<String> documented = new TreeSet<>();
        Matcher row = Pattern.compile("(?m)^\\| `([A-Za-z0-9_.]+)` \\|").matcher(section);
        while (row.find()) {
            documented.add(row.group(1));
        }
        Set<String> values = new TreeSet<>();
        leaves("", new com.fasterxml.jackson.databind.ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory())
                .readValue(RenderedChart.CHART.resolve("values.yaml").toFile(), Map.class), values);
        assertThat(documented).as("values documented in docs/deployment.md").containsExactlyInAnyOrderElementsOf(values);
    }

    @SuppressWarnings("unchecked")
    private static void leaves(String prefix, Map<String, Object> map, Set<String> into) {
        for (Map.Entry<String, Object> e : map.entrySet()) {
            String key = prefix + e.getKey();
            // a map holding values (not a free-form map such as annotations or resources) is walked
            if (e.getValue() instanceof Map<?, ?> m && !m.isEmpty() && !Stream.of("resources").anyMatch(key::endsWith)) {
                leaves(key + ".", (Map<String, Object>) m, into);
            } else {
                into.add(key);
            }
        }
    }

    /** The project's version: the image tag the chart uses by default (its appVersion). */
    static String pomVersion() throws Exception {
        var pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of(System.getProperty("basedir", "."), "pom.xml").toFile());
        var children = pom.getDocumentElement().getChildNodes();
        for (int i = 0; i < children.getLength(); i++) {
            if ("version".equals(children.item(i).getNodeName())) {
                return children.item(i).getTextContent().trim();
            }
        }
        throw new AssertionError("no version in pom.xml");
    }
}
