package dev.siderolink.server.packaging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Any;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.server.chart.RenderedChart;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.provision.StandaloneTestDirs;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.NodeChannels;
import dev.siderolink.server.testing.ProvisionClient;
import dev.talos.api.machine.AddressEvent;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * The packaged jar started the way the image starts it: {@code src/main/docker/entrypoint.sh
 * <component>}, once per container of the Helm chart, each process with exactly the arguments and
 * environment the rendered chart gives that container (the kubernetes store swapped for a
 * standalone directory all three share, as the pod's containers share the cluster's state), and
 * each waited for through the container's own readiness probe. A node inside the installation's
 * /64 then sends a kernel log line over TCP and one over UDP to serverlogs, and publishes an
 * event to serverevents: serverlogs' stdout must be exactly the two annotated log lines,
 * serverevents' exactly the event line, link's nothing at all ({@code kubectl logs -c ...} shows a
 * container's stdout).
 */
@EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available",
        disabledReason = "needs root and iproute2 to hold the node's and the server's tunnel addresses (CI runs as root)")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EntrypointIT {

    static final Path PROJECT = Path.of(System.getProperty("basedir", "."));
    static final Path SCRIPT = PROJECT.resolve("src/main/docker/entrypoint.sh");
    static final Path JAR = PROJECT.resolve("target/siderolink-server.jar");
    static final String JOIN_TOKEN = "entrypoint-it-token";
    static final String FILTERED = "10.5.0.0/16";
    static final ObjectMapper JSON = new ObjectMapper();
    static final KubernetesSerialization YAML = new KubernetesSerialization();

    static final String UUID_ = UUID.randomUUID().toString();
    static final String TCP_LINE = "{\"clock\":8576583,\"facility\":\"user\",\"msg\":\"[talos] phase mountState (6/13): 1 tasks(s)\\n\","
            + "\"priority\":\"warning\",\"seq\":665,\"talos-level\":\"warn\",\"talos-time\":\"2022-02-11T12:42:02.74807823Z\"}";
    static final String UDP_DATAGRAM = "{\"clock\":8576590,\"facility\":\"kern\",\"msg\":\"eth0: link up\",\"priority\":\"info\",\"seq\":666}";

    static Path dir;
    static Path work;
    static InstallationIdentity identity;
    static InetAddress server;
    static InetAddress node;
    static DummyInterface addresses;
    static RenderedChart chart;
    static String iface;
    static final Map<String, Component> running = new LinkedHashMap<>();
    static final List<String> eventIds = new ArrayList<>();

    /** One container of the chart as a process: its stdout and stderr kept in files, like the kubelet keeps them. */
    record Component(String container, Process process, Path stdout, Path stderr) {
        String out() throws IOException {
            return Files.readString(stdout);
        }

        String err() throws IOException {
            return Files.readString(stderr);
        }

        List<String> lines() throws IOException {
            String text = out();
            List<String> lines = new ArrayList<>(text.lines().toList());
            if (!text.isEmpty() && !text.endsWith("\n")) {
                lines.remove(lines.size() - 1); // still being written
            }
            return lines;
        }
    }

    static boolean linkAvailable() {
        return (Files.isExecutable(Path.of("/usr/bin/wireguard-go")) || Files.isExecutable(Path.of("/usr/sbin/wireguard-go")))
                && Files.isExecutable(Path.of("/usr/bin/wg")) && Files.exists(Path.of("/dev/net/tun"));
    }

    @BeforeAll
    static void startTheChartsContainers() throws Exception {
        assertThat(JAR).as("the packaged jar (failsafe runs after package)").exists();
        dir = StandaloneTestDirs.create("entrypoint-it-state");
        work = StandaloneTestDirs.create("entrypoint-it-out");

        // the installation exists already (as the Secret does after the first start in a cluster),
        // so the test knows the prefix before the servers start
        InstallationSecret secret = InstallationIdentity.generateSecret(new SecureRandom());
        identity = InstallationIdentity.from(secret);
        Base64.Encoder b64 = Base64.getEncoder();
        Files.writeString(dir.resolve("secret-siderolink.yaml"), YAML.asYaml(new SecretBuilder()
                .withNewMetadata().withName(InstallationSecret.NAME).withNamespace("default").endMetadata()
                .addToData(InstallationSecret.INSTALLATION_ID_KEY, b64.encodeToString(secret.installationId().getBytes(StandardCharsets.UTF_8)))
                .addToData(InstallationSecret.PRIVATE_KEY_KEY, b64.encodeToString(secret.privateKey().getBytes(StandardCharsets.UTF_8)))
                .build()));
        String serverText = identity.network().serverAddress().toCompressedString();
        server = identity.network().serverAddress().toInetAddress();
        node = InetAddress.getByName(serverText.substring(0, serverText.length() - 1) + "100");
        addresses = new DummyInterface().add(server).add(node);

        // the node's ServerBinding, its MetalMachine and that one's Machine and cluster
        GenericKubernetesResource binding = ServerBindingResources.newBinding(UUID_);
        ServerBindingResources.setSiderolink(binding, new ServerBinding.Siderolink(node.getHostAddress() + "/64", ProvisionClient.newKey()));
        binding.getMetadata().setLabels(Map.of(ServerBindingResources.CLUSTER_NAME_LABEL, "management-cluster"));
        @SuppressWarnings("unchecked")
        Map<String, Object> spec = (Map<String, Object>) binding.getAdditionalProperties().get("spec");
        spec.put("metalMachineRef", Map.of("namespace", "default", "name", "management-cluster-cp-vrff4"));
        Files.createDirectories(dir.resolve("serverbindings"));
        Files.writeString(dir.resolve("serverbindings").resolve(UUID_ + ".yaml"), YAML.asYaml(binding));
        Files.createDirectories(dir.resolve("metalmachines/default"));
        Files.writeString(dir.resolve("metalmachines/default/management-cluster-cp-vrff4.yaml"), """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  name: management-cluster-cp-vrff4
                  namespace: default
                  ownerReferences:
                    - apiVersion: cluster.x-k8s.io/v1beta1
                      kind: Machine
                      name: management-cluster-cp-ddgsw
                      uid: 00000000-0000-4000-8000-000000000000
                spec: {}
                """);

        // the chart with ports free on this machine, a WireGuard interface name of its own
        iface = "slit" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));
        chart = RenderedChart.render("""
                wireguard: {port: %d}
                api: {port: %d}
                logs: {port: %d}
                events: {port: %d, negativeAddressFilter: [%s]}
                provision: {joinToken: {value: %s}}
                link: {httpPort: %d, extraEnv: [{name: SIDEROLINK_WIREGUARD_INTERFACE, value: %s}]}
                serverlogs: {httpPort: %d}
                serverevents: {httpPort: %d}
                """.formatted(freePort(), freePort(), freePort(), freePort(), FILTERED, JOIN_TOKEN, freePort(), iface, freePort(), freePort()));

        List<String> containers = new ArrayList<>(List.of("serverlogs", "serverevents"));
        if (linkAvailable()) {
            containers.add("link");
        }
        for (String container : containers) {
            running.put(container, start(container));
        }
        for (String container : containers) {
            awaitReady(running.get(container));
        }
    }

    /** {@code entrypoint.sh <args>} with the container's environment and nothing else of ours. */
    static Component start(String container) throws IOException {
        List<String> command = new ArrayList<>(List.of(SCRIPT.toString()));
        command.addAll(chart.container(container).getArgs());
        ProcessBuilder builder = new ProcessBuilder(command).directory(work.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Map<String, String> env = builder.environment();
        env.clear();
        env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"); // as in the image
        env.putAll(chart.env(container));
        // what differs from the pod: the state is a local directory, the jar and the JDK are this build's
        env.put("SIDEROLINK_STORE", "standalone");
        env.put("SIDEROLINK_STANDALONE_DIR", dir.toString());
        env.put("SIDEROLINK_JAR", JAR.toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("JAVA_OPTS", "-XX:TieredStopAtLevel=1 -Xshare:auto -Xmx256m");
        Path out = work.resolve(container + ".stdout");
        Path err = work.resolve(container + ".stderr");
        Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new Component(container, process, out, err);
    }

    /** What the kubelet does before the pod gets traffic: the container's readiness probe, until it answers 200. */
    static void awaitReady(Component component) throws Exception {
        Probe probe = chart.container(component.container()).getReadinessProbe();
        URI uri = URI.create("http://127.0.0.1:" + probe.getHttpGet().getPort().getIntVal() + probe.getHttpGet().getPath());
        long deadline = System.nanoTime() + Duration.ofSeconds(150).toNanos();
        while (true) {
            if (!component.process().isAlive()) {
                throw new AssertionError(component.container() + " exited with " + component.process().exitValue() + ":\n" + component.err());
            }
            try {
                HttpURLConnection connection = (HttpURLConnection) uri.toURL().openConnection();
                connection.setConnectTimeout(1000);
                connection.setReadTimeout(5000);
                int status = connection.getResponseCode();
                connection.disconnect();
                if (status == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(component.container() + " not ready at " + uri + ":\n" + component.err());
            }
            Thread.sleep(250);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static int port(String container, String variable) {
        return Integer.parseInt(chart.env(container).get(variable));
    }

    static List<String> awaitLines(Component component, int count) throws Exception {
        Awaitility.await(component.container() + " prints " + count + " lines").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> component.lines().size() >= count);
        return component.lines();
    }

    /** A kernel log message as the server prints it: the node's fields plus what its ServerBinding says. */
    static JsonNode annotated(String message) throws IOException {
        ObjectNode line = (ObjectNode) JSON.readTree(message);
        line.put("server_uuid", UUID_);
        line.put("namespace", "default");
        line.put("metal_machine", "management-cluster-cp-vrff4");
        line.put("machine", "management-cluster-cp-ddgsw");
        line.put("cluster", "management-cluster");
        return line;
    }

    @Test
    @Order(1)
    void serverlogsPrintsTheNodesKernelLogAnnotatedOverTcpAndUdp() throws Exception {
        Component serverlogs = running.get("serverlogs");
        int port = port("serverlogs", "SIDEROLINK_LOGS_PORT");
        try (Socket tcp = new Socket()) {
            tcp.bind(new InetSocketAddress(node, 0));
            tcp.connect(new InetSocketAddress(server, port), 5000);
            OutputStream out = tcp.getOutputStream();
            out.write((TCP_LINE + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            assertThat(awaitLines(serverlogs, 1)).hasSize(1);
        }
        try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(node, 0))) {
            byte[] datagram = UDP_DATAGRAM.getBytes(StandardCharsets.UTF_8); // no newline, as Talos sends it
            udp.send(new DatagramPacket(datagram, datagram.length, new InetSocketAddress(server, port)));
        }
        List<String> lines = awaitLines(serverlogs, 2);
        assertThat(lines).hasSize(2);
        assertThat(JSON.readTree(lines.get(0))).isEqualTo(annotated(TCP_LINE));
        assertThat(JSON.readTree(lines.get(1))).isEqualTo(annotated(UDP_DATAGRAM));
        assertThat(lines.get(0)).as("keys in sorted order, as docs/logs.md shows").startsWith("{\"clock\":8576583,\"cluster\":\"management-cluster\",");
    }

    @Test
    @Order(2)
    void serverEventsPrintsTheNodesEventAndAppliesTheChartsNegativeAddressFilter() throws Exception {
        Component serverevents = running.get("serverevents");
        int port = port("serverevents", "SIDEROLINK_EVENTS_PORT");
        ManagedChannel channel = NodeChannels.from(node, new InetSocketAddress(server, port)); // through its tunnel, a node speaks from its own address
        try {
            String id = "cv0d3b5l1ust0p8aheg0";
            eventIds.add(id);
            EventRequest request = EventRequest.newBuilder().setId(id).setData(Any.pack(AddressEvent.newBuilder().setHostname("talos-cp-1")
                    .addAddresses("192.168.10.5").addAddresses("10.5.3.4").addAddresses(node.getHostAddress()).build(), "type.googleapis.com")).build();
            EventSinkServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).publish(request);
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        List<String> lines = awaitLines(serverevents, 1);
        assertThat(lines).hasSize(1);
        JsonNode line = JSON.readTree(lines.get(0));
        assertThat(line.get("id").asText()).isEqualTo(eventIds.get(0));
        assertThat(line.get("type").asText()).isEqualTo("type.googleapis.com/machine.AddressEvent");
        assertThat(line.get("server_uuid").asText()).isEqualTo(UUID_);
        assertThat(line.get("hostname").asText()).isEqualTo("talos-cp-1");
        // SIDEROLINK_EVENTS_NEGATIVEADDRESSFILTER, as the chart spells it, reached the server
        Awaitility.await("addresses on the ServerBinding").atMost(Duration.ofSeconds(20)).until(() -> !storedBinding().addresses().isEmpty());
        assertThat(storedBinding().addresses()).containsExactly("192.168.10.5");
    }

    static ServerBinding storedBinding() throws IOException {
        return ServerBindingResources.toBinding(YAML.unmarshal(
                Files.readString(dir.resolve("serverbindings").resolve(UUID_ + ".yaml")), GenericKubernetesResource.class));
    }

    @Test
    @Order(3)
    void linkAnswersProvisionWithTheJoinTokenFromTheChartsSecretAndHoldsTheInterface() throws Exception {
        assumeTrue(running.containsKey("link"), "needs wireguard-go, wg and /dev/net/tun (scripts/test.sh installs the tools)");
        int port = port("link", "SIDEROLINK_API_PORT");
        try (ProvisionClient client = new ProvisionClient("127.0.0.1", port)) {
            ProvisionResponse response = client.provision(ProvisionClient.request(UUID.randomUUID().toString(), ProvisionClient.newKey())
                    .setJoinToken(JOIN_TOKEN).build());
            assertThat(response.getServerAddress()).isEqualTo(identity.network().serverAddress().toCompressedString());
            assertThat(response.getServerEndpointList()).singleElement().asString().startsWith(RenderedChart.ENDPOINT + ":");
            assertThatThrownBy(() -> client.provision(ProvisionClient.request(UUID.randomUUID().toString(), ProvisionClient.newKey()).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        }
        assertThat(new ProcessBuilder("ip", "link", "show", "dev", iface).start().waitFor()).as("interface " + iface + " up").isZero();
    }

    @Test
    @Order(4)
    void afterAGracefulStopEachStdoutHoldsExactlyItsOwnStream() throws Exception {
        for (Component component : running.values()) {
            component.process().destroy(); // SIGTERM, as the kubelet stops a container
        }
        for (Component component : running.values()) {
            assertThat(component.process().waitFor(30, TimeUnit.SECONDS)).as(component.container() + " stops").isTrue();
        }
        Component serverlogs = running.get("serverlogs");
        assertThat(serverlogs.out()).as("serverlogs stdout: whole lines only").endsWith("\n");
        assertThat(serverlogs.lines()).as("serverlogs stdout: the two log lines, nothing else")
                .extracting(l -> JSON.readTree(l)).containsExactly(annotated(TCP_LINE), annotated(UDP_DATAGRAM));
        Component serverevents = running.get("serverevents");
        assertThat(serverevents.lines()).as("serverevents stdout: the event line, nothing else").singleElement()
                .satisfies(l -> assertThat(JSON.readTree(l).get("id").asText()).isEqualTo(eventIds.get(0)));
        assertThat(serverevents.out()).endsWith("\n");
        for (Component stream : List.of(serverlogs, serverevents)) {
            // the chart sets their own log to WARN: a healthy container prints the stream and no chatter
            assertThat(stream.err().lines()).as(stream.container() + " stderr").noneMatch(l -> l.contains(" INFO "));
        }
        Component link = running.get("link");
        if (link != null) {
            assertThat(link.out()).as("link stdout").isEmpty();
            assertThat(link.err()).as("link's own log goes to stderr").contains("SideroLink installation");
            assertThat(new ProcessBuilder("ip", "link", "show", "dev", iface).start().waitFor()).as("interface removed on SIGTERM").isNotZero();
        }
    }

    @AfterAll
    static void stopEverything() throws Exception {
        for (Component component : running.values()) {
            component.process().destroy();
            if (!component.process().waitFor(20, TimeUnit.SECONDS)) {
                component.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        }
        if (addresses != null) {
            addresses.close();
        }
        if (iface != null) {
            new ProcessBuilder("ip", "link", "del", iface).start().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
