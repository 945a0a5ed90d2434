package dev.siderolink.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.SiderolinkServerApplication;
import dev.siderolink.server.installation.WireGuardKey;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.wireguard.Connectivity;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.FileSystemUtils;

/**
 * The whole link for real: the server (its own wireguard-go interface in the root namespace) and
 * a Talos-like node in a network namespace joined by a veth pair, with its own wireguard-go
 * interface configured as Talos does it (MTU 1280, one peer with allowed IPs server/128,
 * keepalive 25 s). The node provisions over the veth; UDP and TCP from the node must reach the
 * server's tunnel address through the encrypted tunnel, and keep doing so across a node reboot
 * (new key, same address) and the loss of the server's interface; a deleted binding cuts it off.
 * Kernel logs the node sends over UDP and TCP through the tunnel reach the serverlogs stream,
 * annotated with the node's binding, MetalMachine, Machine and cluster.
 */
@EnabledIf(value = "dev.siderolink.server.e2e.NetworkLab#available",
        disabledReason = "needs root, /dev/net/tun, wireguard-tools, wireguard-go and iproute2 (CI runs as root; scripts/test.sh installs the tools)")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@SuppressWarnings("unchecked")
class TunnelEndToEndTest {

    static final SecureRandom RANDOM = new SecureRandom();
    static final com.fasterxml.jackson.databind.ObjectMapper YAML = new com.fasterxml.jackson.databind.ObjectMapper(
            new com.fasterxml.jackson.dataformat.yaml.YAMLFactory());
    static NetworkLab lab;
    static ConfigurableApplicationContext server;
    static Path stateDir;
    static String serverIf;
    static String nodeIf;
    static int apiPort;
    static int probePort;
    static DatagramSocket udpProbe;
    static ServerSocket tcpProbe;
    static final String uuid = UUID.randomUUID().toString();
    static String nodeAddress; // bare
    static int logsPort;
    static int eventsPort;
    static Path eventsOutput;
    static Path logsOutput;
    static String serverAddress;

    @BeforeAll
    static void start() throws Exception {
        lab = new NetworkLab();
        String id = lab.hostVeth.substring(3);
        serverIf = "sls" + id;
        nodeIf = "sln" + id + "w";
        stateDir = Files.createTempDirectory("e2e-state");
        apiPort = freeTcpPort();
        server = new SpringApplicationBuilder(SiderolinkServerApplication.class).run(
                "--siderolink.components=link,serverlogs,serverevents",
                "--siderolink.events.port=" + (eventsPort = freeTcpPort()),
                "--siderolink.events.output=" + (eventsOutput = stateDir.resolve("serverevents.jsonl")),
                "--siderolink.logs.port=" + (logsPort = freeTcpPort()),
                "--siderolink.logs.output=" + (logsOutput = stateDir.resolve("serverlogs.jsonl")),
                "--siderolink.standalone.dir=" + stateDir,
                "--siderolink.standalone.rescan-interval=200ms",
                "--siderolink.wireguard.interface=" + serverIf,
                "--siderolink.wireguard.port=" + freeUdpPort(),
                "--siderolink.wireguard.endpoint=" + lab.hostAddress,
                "--siderolink.wireguard.reconcile-interval=1s",
                "--siderolink.api.port=" + apiPort,
                "--server.port=0");
        serverAddress = server.getBean(dev.siderolink.server.installation.InstallationIdentity.class).network().serverAddress().toCompressedString();
        // what the server's log and event receivers will be: sockets on the tunnel address
        probePort = freeTcpPort();
        InetAddress tunnel = InetAddress.getByName(serverAddress);
        udpProbe = new DatagramSocket(new InetSocketAddress(tunnel, probePort));
        tcpProbe = new ServerSocket();
        tcpProbe.bind(new InetSocketAddress(tunnel, probePort));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (udpProbe != null) {
                udpProbe.close();
            }
            if (tcpProbe != null) {
                tcpProbe.close();
            }
            if (server != null) {
                server.close(); // removes the server's interface and stops its wireguard-go
            }
        } finally {
            if (lab != null) {
                lab.close();
            }
            if (stateDir != null) {
                FileSystemUtils.deleteRecursively(stateDir);
            }
        }
        assertThat(linkExists(serverIf)).as("server interface removed").isFalse();
    }

    @Test
    @Order(1)
    void aProvisionedNodeReachesTheServerThroughTheTunnel() throws Exception {
        bootNode();
        assertTunnelCarries("boot");
        Awaitility.await("SideroLinkConnected=True").atMost(Duration.ofSeconds(15)).until(() ->
                store().binding(uuid).map(b -> Condition.find(b.conditions(), Connectivity.CONDITION))
                        .map(c -> Condition.TRUE.equals(c.status())).orElse(false));
    }

    @Test
    @Order(2)
    void kernelLogsFromTheNodeOverUdpAndTcpAppearAnnotated() throws Exception {
        // What Sidero gives a bound server: a MetalMachine reference, a cluster label, a Machine owner.
        Path bindingFile = stateDir.resolve("serverbindings").resolve(uuid + ".yaml");
        Map<String, Object> binding = YAML.readValue(bindingFile.toFile(), Map.class);
        ((Map<String, Object>) binding.get("metadata")).put("labels", Map.of("cluster.x-k8s.io/cluster-name", "e2e-cluster"));
        ((Map<String, Object>) binding.get("spec")).put("metalMachineRef", Map.of("namespace", "default", "name", "e2e-mm"));
        Path metalMachine = stateDir.resolve("metalmachines").resolve("default").resolve("e2e-mm.yaml");
        Files.createDirectories(metalMachine.getParent());
        Files.writeString(metalMachine, """
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  name: e2e-mm
                  namespace: default
                  ownerReferences:
                    - apiVersion: cluster.x-k8s.io/v1beta1
                      kind: Machine
                      name: e2e-machine
                      uid: 7d3c5b1e-0000-4000-8000-000000000001
                """);
        YAML.writeValue(bindingFile.toFile(), binding);
        Awaitility.await("hand edits picked up").atMost(Duration.ofSeconds(10)).until(() ->
                store().binding(uuid).map(b -> "e2e-cluster".equals(b.clusterName())).orElse(false)
                        && store().metalMachine(new dev.siderolink.server.inventory.MetalMachine.Key("default", "e2e-mm")).isPresent());

        String talos = "{\"clock\":5140900,\"facility\":\"kern\",\"msg\":\"NET: Registered PF_INET6 protocol family via %s\","
                + "\"priority\":\"info\",\"seq\":339,\"talos-level\":\"info\",\"talos-time\":\"2026-08-21T10:00:05.264356789Z\"}";
        String annotated = "{\"clock\":5140900,\"cluster\":\"e2e-cluster\",\"facility\":\"kern\",\"machine\":\"e2e-machine\","
                + "\"metal_machine\":\"e2e-mm\",\"msg\":\"NET: Registered PF_INET6 protocol family via %s\",\"namespace\":\"default\","
                + "\"priority\":\"info\",\"seq\":339,\"server_uuid\":\"" + uuid + "\",\"talos-level\":\"info\","
                + "\"talos-time\":\"2026-08-21T10:00:05.264356789Z\"}";
        // UDP may lose a datagram on a path just set up: send until one arrives
        Awaitility.await("UDP log line annotated in the output").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
            agent("udp", serverAddress, String.valueOf(logsPort), talos.formatted("udp"));
            return Files.exists(logsOutput) && Files.readAllLines(logsOutput).contains(annotated.formatted("udp"));
        });
        agent("tcp", serverAddress, String.valueOf(logsPort), talos.formatted("tcp"));
        Awaitility.await("TCP log line annotated in the output").atMost(Duration.ofSeconds(15))
                .until(() -> Files.readAllLines(logsOutput).contains(annotated.formatted("tcp")));
        String health = http("/actuator/health");
        assertThat(health).contains("\"serverlogs\":{\"status\":\"UP\"").doesNotContain("\"lastMessage\":\"never\"")
                .containsPattern("\"received\":\\{\"tcp\":[1-9]\\d*,\"udp\":[1-9]");
        String metrics = http("/actuator/prometheus");
        assertThat(metrics).containsPattern("siderolink_logs_server_messages_total\\{server_uuid=\"" + uuid + "\"\\} [1-9]");
        assertThat(metrics).containsPattern("siderolink_logs_written_total\\{transport=\"tcp\"\\} [1-9]");
    }

    @Test
    @Order(3)
    void eventsPublishedThroughTheTunnelChangeTheBindingsConditions() throws Exception {
        // a node that has just booted its installed Talos: boot START marks it installed, config loaded and valid
        String id = "e2e" + Long.toHexString(System.nanoTime());
        Awaitility.await("Publish answered OK").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> agent("event", serverAddress, String.valueOf(eventsPort), "boot:START", id).contains("status=OK"));
        var conditions = store().binding(uuid).orElseThrow().conditions();
        for (String type : java.util.List.of("TalosInstalled", "TalosConfigLoaded", "TalosConfigValidated")) {
            assertThat(Condition.find(conditions, type)).as(type).extracting(Condition::status).isEqualTo(Condition.TRUE);
        }
        String line = Files.readAllLines(eventsOutput).stream().filter(l -> l.contains(id)).findFirst().orElseThrow();
        assertThat(line).contains("\"server_uuid\":\"" + uuid + "\"", "\"sequence\":\"boot\"", "\"machine\":\"e2e-machine\"",
                "\"node\":\"[" + nodeAddress + "]:");
        assertThat(http("/actuator/health")).contains("\"serverevents\":{\"status\":\"UP\"").doesNotContain("\"lastEvent\":\"never\"")
                .containsPattern("\"statusUpdates\":[1-9]");
        assertThat(http("/actuator/prometheus")).containsPattern("siderolink_events_status_updates_total [1-9]");
    }

    @Test
    @Order(4)
    void healthAndMetricsShowTheLinkAsAnOperatorSeesIt() throws Exception {
        String health = http("/actuator/health");
        assertThat(health).contains("\"wireguard\":{\"status\":\"UP\"")
                .contains("\"interface\":\"" + serverIf + "\"")
                .contains("\"mode\":\"userspace\"")
                .contains("\"interfaceUp\":true")
                .contains("\"peers\":1");
        assertThat(http("/actuator/health/readiness")).startsWith("{\"status\":\"UP\"")
                .contains("\"store\":{\"status\":\"UP\"", "\"wireguard\":{\"status\":\"UP\"", "\"provision\":{\"status\":\"UP\"");
        assertThat(http("/actuator/health/liveness")).startsWith("{\"status\":\"UP\"").contains("\"peerReconciler\":{\"status\":\"UP\"");
        Awaitility.await("connected peer counted").atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(http("/actuator/prometheus"))
                        .contains("siderolink_wireguard_peers_connected 1.0")
                        .contains("siderolink_wireguard_peer_connected{server_uuid=\"" + uuid + "\"} 1.0")
                        .containsPattern("siderolink_wireguard_peer_received_bytes\\{server_uuid=\"" + uuid + "\"} [1-9]"));
    }

    static String http(String path) throws Exception {
        String port = server.getEnvironment().getProperty("local.server.port");
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build();
        return java.net.http.HttpClient.newHttpClient().send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    @Order(5)
    void aRebootedNodeWithANewKeyGetsTheSameAddressAndTheTunnelWorksAgain() throws Exception {
        String before = nodeAddress;
        lab.inNode("ip", "link", "del", "dev", nodeIf); // the node reboots: interface and key are gone
        bootNode();
        assertThat(nodeAddress).isEqualTo(before);
        assertTunnelCarries("reboot");
        assertThat(wgDump(serverIf).lines().skip(1).count()).as("one peer: the old key is gone").isEqualTo(1);
    }

    @Test
    @Order(6)
    void theServerRecreatesItsInterfaceWhenItIsDeletedAndTheTunnelRecovers() throws Exception {
        NetworkLab.run("ip", "link", "del", "dev", serverIf);
        Awaitility.await("interface recreated").atMost(Duration.ofSeconds(20)).until(() -> linkExists(serverIf));
        // the receivers' sockets were bound to the old interface's address: bind again
        rebindProbes();
        assertTunnelCarries("recreated", Duration.ofSeconds(60));
    }

    @Test
    @Order(7)
    void aDeletedBindingRemovesThePeerAndTheNodesPacketsNoLongerArrive() throws Exception {
        Files.delete(stateDir.resolve("serverbindings").resolve(uuid + ".yaml"));
        Awaitility.await("peer removed").atMost(Duration.ofSeconds(20)).until(() -> wgDump(serverIf).lines().skip(1).findAny().isEmpty());
        udpProbe.setSoTimeout(1000);
        for (int i = 0; i < 3; i++) {
            agent("udp", serverAddress, String.valueOf(probePort), "after-delete-" + i);
            assertThat(receiveUdp()).as("datagram after the binding was deleted").isNull();
        }
    }

    // ---- the node ----

    /** Boots the node: new key, Provision over the veth, interface configured as Talos does. */
    static void bootNode() throws Exception {
        WireGuardKey key = WireGuardKey.generatePrivate(RANDOM);
        Map<String, String> response = provision(key.publicKey().toBase64());
        nodeAddress = response.get("nodeAddress").replace("/64", "");
        assertThat(response.get("serverAddress")).isEqualTo(serverAddress);
        lab.spawnInNode(Map.of("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1"), "wireguard-go", "-f", nodeIf);
        Awaitility.await("node wireguard-go up").atMost(Duration.ofSeconds(10))
                .until(() -> Files.exists(Path.of("/var/run/wireguard", nodeIf + ".sock")));
        lab.inNodeWithInput(key.toBase64() + "\n", "wg", "set", nodeIf, "private-key", "/dev/stdin",
                "peer", response.get("serverKey"), "endpoint", response.get("endpoint"),
                "allowed-ips", serverAddress + "/128", "persistent-keepalive", "25");
        lab.inNode("ip", "-6", "address", "add", response.get("nodeAddress"), "dev", nodeIf, "nodad");
        lab.inNode("ip", "link", "set", "dev", nodeIf, "mtu", "1280", "up");
    }

    static Map<String, String> provision(String publicKey) throws Exception {
        String out = agent("provision", lab.hostAddress, String.valueOf(apiPort), uuid, publicKey);
        Map<String, String> fields = new HashMap<>();
        out.lines().filter(l -> l.contains("=")).forEach(l -> fields.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1)));
        return fields;
    }

    static String agent(String... args) throws Exception {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String[] argv = new String[args.length + 6];
        argv[0] = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        argv[1] = "-XX:TieredStopAtLevel=1";
        argv[2] = "-Xshare:auto";
        argv[3] = "-cp";
        argv[4] = classpath;
        argv[5] = NodeAgent.class.getName();
        System.arraycopy(args, 0, argv, 6, args.length);
        return lab.inNode(argv);
    }

    // ---- the server's side of the tunnel ----

    static void assertTunnelCarries(String tag) throws Exception {
        assertTunnelCarries(tag, Duration.ofSeconds(30));
    }

    /** UDP and TCP from the node arrive on the tunnel address, from the node's tunnel address. */
    static void assertTunnelCarries(String tag, Duration within) throws Exception {
        udpProbe.setSoTimeout(1000);
        long deadline = System.nanoTime() + within.toNanos();
        DatagramPacket got = null;
        for (int i = 0; got == null; i++) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no datagram through the tunnel within " + within + " (" + tag + ")\n" + wgDump(serverIf));
            }
            agent("udp", serverAddress, String.valueOf(probePort), tag + "-udp-" + i);
            got = receiveUdp();
        }
        assertThat(new String(got.getData(), 0, got.getLength(), StandardCharsets.UTF_8)).startsWith(tag + "-udp-");
        assertThat(sameAddress(got.getAddress(), nodeAddress)).as("datagram source is the node's tunnel address").isTrue();

        tcpProbe.setSoTimeout(10_000);
        agent("tcp", serverAddress, String.valueOf(probePort), tag + "-tcp");
        try (Socket accepted = tcpProbe.accept()) {
            assertThat(sameAddress(accepted.getInetAddress(), nodeAddress)).as("TCP source is the node's tunnel address").isTrue();
            accepted.setSoTimeout(5000);
            String line = new BufferedReader(new InputStreamReader(accepted.getInputStream(), StandardCharsets.UTF_8)).readLine();
            assertThat(line).isEqualTo(tag + "-tcp");
        }
    }

    static DatagramPacket receiveUdp() throws IOException {
        DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
        try {
            udpProbe.receive(packet);
            return packet;
        } catch (SocketTimeoutException e) {
            return null;
        }
    }

    static void rebindProbes() throws Exception {
        udpProbe.close();
        tcpProbe.close();
        InetAddress tunnel = InetAddress.getByName(serverAddress);
        Awaitility.await("tunnel address back").atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
            udpProbe = new DatagramSocket(new InetSocketAddress(tunnel, probePort));
            return true;
        });
        tcpProbe = new ServerSocket();
        tcpProbe.bind(new InetSocketAddress(tunnel, probePort));
    }

    static boolean sameAddress(InetAddress address, String expected) throws IOException {
        return address.equals(InetAddress.getByName(expected));
    }

    static ResourceStore store() {
        return server.getBean(ResourceStore.class);
    }

    static String wgDump(String iface) throws Exception {
        return NetworkLab.run("wg", "show", iface, "dump");
    }

    static boolean linkExists(String iface) {
        try {
            NetworkLab.run("ip", "link", "show", "dev", iface);
            return true;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }
}
