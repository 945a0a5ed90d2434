package dev.siderolink.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

/**
 * {@code scripts/demo.sh} as a user runs it (root, one command), against the packaged jar: what it
 * prints is what the documentation promises an operator sees, and it leaves nothing behind, also
 * when it is interrupted. The script gets the jar and the node's classpath from this build
 * ({@code DEMO_JAR}, {@code DEMO_NODE_CLASSPATH}), so it never calls Maven from inside Maven.
 */
@EnabledIf(value = "dev.siderolink.server.e2e.DemoScriptIT#runnable",
        disabledReason = "needs root, working network namespaces (ip netns add), /dev/net/tun, wireguard-tools, wireguard-go and iproute2 "
                + "(CI runs as root; scripts/test.sh installs the tools)")
class DemoScriptIT {

    static final ObjectMapper JSON = new ObjectMapper();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final Path BASEDIR = Path.of("").toAbsolutePath();
    static final int EVENTS_PUBLISHED = 13;

    static Run demo;
    static String uuid;
    static String nodeTunnelAddress; // bare
    static String nodeLanAddress;

    /** Root with the tools, and a namespace can really be made (some containers refuse). */
    static boolean runnable() {
        if (!NetworkLab.available()) {
            return false;
        }
        String probe = "sl-probe-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        try {
            NetworkLab.run("ip", "netns", "add", probe);
            NetworkLab.run("ip", "netns", "del", probe);
            return true;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    @BeforeAll
    static void runTheDemo() throws Exception {
        demo = Run.start("complete");
        demo.awaitExit(240);
        uuid = demo.find("Node: Provision", "^server_uuid: (\\S+)$");
        Matcher answer = demo.match("Node: Provision", "node address (\\S+)/64$");
        nodeTunnelAddress = answer.group(1);
        nodeLanAddress = demo.find("Network", "^the node's network: (\\S+)/64 on ");
    }

    @Test
    void exitsZeroAndRemovesWhatItCreated() throws Exception {
        assertThat(demo.exitCode).as(demo.describe()).isZero();
        assertThat(demo.headings()).as("sections").last().asString().startsWith("Done: demo passed in ");
        assertThat(demo.section("Cleanup")).anyMatch(l -> l.startsWith("removed: netns "));
        demo.assertNothingLeft();
    }

    @Test
    void kernelLogLinesSentOverUdpAndTcpAreShownAnnotatedWithTheNodesServer() throws Exception {
        List<JsonNode> udp = demo.json("Node: kernel log lines", "udp> ");
        List<JsonNode> tcp = demo.json("Node: kernel log lines", "tcp> ");
        assertThat(udp).as("lines sent over UDP").isNotEmpty();
        assertThat(tcp).as("lines sent over TCP").isNotEmpty();
        List<JsonNode> shown = demo.json("serverlogs:", "{");
        assertThat(shown).hasSize(udp.size() + tcp.size());
        List<JsonNode> sent = new ArrayList<>(udp);
        sent.addAll(tcp);
        String summary = String.join("\n", demo.section("serverlogs:"));
        for (JsonNode line : sent) {
            String msg = line.get("msg").asText();
            JsonNode annotated = shown.stream().filter(s -> s.path("msg").asText().equals(msg)).findFirst()
                    .orElseThrow(() -> new AssertionError("not shown annotated: " + msg + "\n" + demo.describe()));
            // Talos' fields pass through untouched, the server adds who sent it
            line.fields().forEachRemaining(f -> assertThat(annotated.get(f.getKey())).as(f.getKey()).isEqualTo(f.getValue()));
            assertThat(annotated.get("server_uuid").asText()).isEqualTo(uuid);
            assertThat(annotated.get("namespace").asText()).isEqualTo("default");
            assertThat(annotated.get("metal_machine").asText()).isEqualTo("demo-cp-1");
            assertThat(annotated.get("machine").asText()).isEqualTo("demo-cp-1-x7k2p");
            assertThat(annotated.get("cluster").asText()).isEqualTo("demo-cluster");
            // the second recipe: one cluster's lines as text
            assertThat(summary).contains("demo-cp-1-x7k2p " + line.get("talos-level").asText() + " " + msg);
        }
        assertThat(udp).allMatch(l -> l.get("msg").asText().contains("sent over UDP"));
        assertThat(tcp).allMatch(l -> l.get("msg").asText().contains("sent over TCP"));
    }

    @Test
    void eventLinesShowEveryPublishedEventOnceInOrderWithItsTypeAndFields() throws Exception {
        List<String[]> published = new ArrayList<>();
        for (String section : List.of("Node: events of the install stage", "Node: events of the boot stage")) {
            for (String line : demo.section(section)) {
                Matcher m = Pattern.compile("^published id=(\\S+) type=(\\S+) status=(\\S+) ").matcher(line);
                if (m.find()) {
                    assertThat(m.group(3)).as(line).isEqualTo("OK");
                    published.add(new String[] {m.group(1), m.group(2)});
                }
            }
        }
        assertThat(published).hasSize(EVENTS_PUBLISHED);
        List<JsonNode> shown = demo.json("serverevents:", "{");
        assertThat(shown.stream().map(e -> e.get("id").asText()))
                .as("every event once, in the order published").containsExactlyElementsOf(published.stream().map(p -> p[0]).toList());
        for (int i = 0; i < shown.size(); i++) {
            JsonNode event = shown.get(i);
            assertThat(event.get("type").asText()).isEqualTo("type.googleapis.com/" + published.get(i)[1]);
            assertThat(event.get("component").asText()).isEqualTo("sink");
            assertThat(event.get("server_uuid").asText()).isEqualTo(uuid);
            assertThat(event.get("machine").asText()).isEqualTo("demo-cp-1-x7k2p");
            assertThat(event.get("cluster").asText()).isEqualTo("demo-cluster");
            assertThat(event.get("node").asText()).as("the caller is the node's tunnel address").startsWith("[" + nodeTunnelAddress + "]:");
        }
        assertThat(one(shown, "SequenceEvent", "sequence", "boot", "START").get("level").asText()).isEqualTo("info");
        assertThat(one(shown, "PhaseEvent", "phase", "install", "START").get("msg").asText()).isEqualTo("incoming event");
        one(shown, "PhaseEvent", "phase", "saveConfig", "START");
        JsonNode installed = one(shown, "SequenceEvent", "sequence", "install", "NOOP");
        assertThat(installed.get("level").asText()).isEqualTo("error");
        assertThat(installed.get("error_code").asText()).isEqualTo("FATAL");
        assertThat(installed.get("error").asText()).contains("unix.Reboot");
        JsonNode service = one(shown, "ServiceStateEvent", "service", "apid", "RUNNING");
        assertThat(service.get("msg").asText()).isEqualTo("service Health check successful");
        assertThat(service.at("/health/healthy").asBoolean()).isTrue();
        JsonNode addresses = shown.stream().filter(e -> e.get("type").asText().endsWith(".AddressEvent")).findFirst().orElseThrow();
        assertThat(addresses.get("hostname").asText()).startsWith("talos-demo-");
        assertThat(texts(addresses.get("addresses"))).containsExactly(nodeLanAddress, nodeTunnelAddress);
        assertThat(shown).anySatisfy(e -> {
            assertThat(e.get("type").asText()).endsWith(".MachineStatusEvent");
            assertThat(e.get("stage").asText()).isEqualTo("RUNNING");
            assertThat(e.get("ready").asBoolean()).isTrue();
        });
        assertThat(shown).anySatisfy(e -> assertThat(e.path("cmd").asLong()).isEqualTo(0x01234567L));
    }

    @Test
    void theBindingShowsTheTalosConditionsTheTunnelAndTheReportedAddresses() throws Exception {
        assertThat(demo.section("Node: events of the install stage"))
                .as("while the install runs").contains("  TalosInstalled False (TalosInstallationInProgress)",
                        "  TalosConfigLoaded True", "  TalosConfigValidated True");

        JsonNode binding = demo.yaml("ServerBinding " + uuid);
        assertThat(binding.get("kind").asText()).isEqualTo("ServerBinding");
        assertThat(binding.at("/metadata/name").asText()).isEqualTo(uuid);
        assertThat(binding.at("/spec/siderolink/address").asText()).isEqualTo(nodeTunnelAddress + "/64");
        assertThat(texts(binding.at("/spec/addresses"))).as("reported addresses without the tunnel address").containsExactly(nodeLanAddress);
        assertThat(binding.at("/spec/hostname").asText()).startsWith("talos-demo-");
        Map<String, JsonNode> conditions = byType(binding.at("/status/conditions"));
        for (String type : List.of("TalosConfigLoaded", "TalosConfigValidated", "TalosInstalled", "SideroLinkConnected")) {
            assertThat(conditions).containsKey(type);
            assertThat(conditions.get(type).get("status").asText()).as(type).isEqualTo("True");
        }

        JsonNode metalMachine = demo.yaml("MetalMachine default/demo-cp-1");
        Map<String, JsonNode> mirrored = byType(metalMachine.at("/status/conditions"));
        assertThat(mirrored.keySet()).containsExactlyInAnyOrder("TalosConfigLoaded", "TalosConfigValidated", "TalosInstalled");
        assertThat(mirrored.values()).allMatch(c -> c.get("status").asText().equals("True"));
        assertThat(StreamSupport.stream(metalMachine.at("/status/addresses").spliterator(), false)
                .map(a -> a.get("type").asText() + " " + a.get("address").asText()))
                .containsExactly("InternalIP " + nodeLanAddress, "Hostname " + binding.at("/spec/hostname").asText());
    }

    @Test
    void healthAndMetricsCountWhatTheNodeSent() {
        List<String> lines = demo.section("Health and metrics");
        assertThat(lines).contains("{\"status\":\"UP\",\"wireguard\":\"UP\",\"serverlogs\":\"UP\",\"serverevents\":\"UP\"}");
        assertThat(lines).contains("siderolink_wireguard_peers_connected 1.0");
        int udp = demo.json("Node: kernel log lines", "udp> ").size();
        int tcp = demo.json("Node: kernel log lines", "tcp> ").size();
        assertThat(lines).contains("siderolink_logs_written_total{transport=\"tcp\"} " + tcp + ".0");
        // a datagram the demo had to send again may be written twice
        assertThat(lines.stream().filter(l -> l.startsWith("siderolink_logs_written_total{transport=\"udp\"} ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))).hasValueSatisfying(n -> assertThat(n).isBetween((double) udp, 2.0 * udp));
        assertThat(lines).noneMatch(l -> l.startsWith("siderolink_logs_dropped_total") || l.startsWith("siderolink_events_failures_total"));
        assertThat(lines.stream().filter(l -> l.startsWith("siderolink_events_received_total"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum()).isEqualTo(EVENTS_PUBLISHED);
    }

    @Test
    void aDemoStoppedHalfwayStillRemovesEverything() throws Exception {
        Run stopped = Run.start("stopped");
        // stop it while the server is starting, once it has made its WireGuard interface (its own
        // wireguard-go): a server process with a child, a namespace, a veth pair, a state directory
        stopped.awaitLine("^server pid: \\d+$", 120);
        String serverInterface = stopped.find("Network", "server_if=(\\S+) ");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(Path.of("/var/run/wireguard", serverInterface + ".sock")) && stopped.process.isAlive()
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        stopped.process.destroy(); // SIGTERM, as a supervisor or `kill` sends; Ctrl-C takes the same path
        stopped.awaitExit(90);
        assertThat(stopped.exitCode).as(stopped.describe()).isEqualTo(143);
        assertThat(stopped.headings()).last().asString().isEqualTo("FAILED (exit status 143)");
        assertThat(stopped.section("Cleanup")).as(stopped.describe()).anyMatch(l -> l.startsWith("removed: netns "));
        stopped.assertNothingLeft();
    }

    // ---- helpers ----

    static JsonNode one(List<JsonNode> events, String type, String field, String value, String action) {
        List<JsonNode> found = events.stream().filter(e -> e.get("type").asText().endsWith("." + type)
                && value.equals(e.path(field).asText()) && action.equals(e.path("action").asText())).toList();
        assertThat(found).as(type + " " + value + " " + action).hasSize(1);
        return found.get(0);
    }

    static List<String> texts(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    static Map<String, JsonNode> byType(JsonNode conditions) {
        Map<String, JsonNode> map = new LinkedHashMap<>();
        conditions.forEach(c -> map.put(c.get("type").asText(), c));
        return map;
    }

    /** One run of the script, its output kept in target/demo-it/ for reading after a failure. */
    static final class Run {
        final Process process;
        final Path output;
        int exitCode = -1;

        private Run(Process process, Path output) {
            this.process = process;
            this.output = output;
        }

        static Run start(String name) throws IOException {
            Path dir = Files.createDirectories(BASEDIR.resolve("target/demo-it"));
            Path output = dir.resolve(name + ".txt");
            Path jar = BASEDIR.resolve("target/siderolink-server.jar");
            assertThat(jar).as("the packaged jar (failsafe runs after package)").exists();
            ProcessBuilder builder = new ProcessBuilder("bash", BASEDIR.resolve("scripts/demo.sh").toString())
                    .directory(BASEDIR.toFile()).redirectErrorStream(true).redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            builder.environment().put("DEMO_JAR", jar.toString());
            builder.environment().put("DEMO_NODE_CLASSPATH",
                    System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")));
            builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
            builder.environment().remove("DEMO_KEEP_LOGS");
            return new Run(builder.start(), output);
        }

        void awaitExit(long seconds) throws Exception {
            if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
                process.destroy(); // its trap cleans up
                process.waitFor(60, TimeUnit.SECONDS);
                throw new AssertionError("demo.sh did not finish within " + seconds + " s\n" + text());
            }
            exitCode = process.exitValue();
            System.out.println(text()); // into the failsafe report
        }

        void awaitLine(String regex, long seconds) throws Exception {
            Pattern pattern = Pattern.compile(regex, Pattern.MULTILINE);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (!pattern.matcher(text()).find()) {
                if (!process.isAlive() || System.nanoTime() > deadline) {
                    throw new AssertionError("no line matching " + regex + "\n" + text());
                }
                Thread.sleep(100);
            }
        }

        String text() throws IOException {
            return Files.readString(output, StandardCharsets.UTF_8);
        }

        String describe() {
            try {
                return "exit " + exitCode + ", output:\n" + text();
            } catch (IOException e) {
                return "exit " + exitCode + ", output unreadable: " + e;
            }
        }

        List<String> headings() throws IOException {
            return text().lines().filter(l -> l.startsWith("=== ")).map(l -> l.substring(4)).toList();
        }

        /** The lines under the first heading that starts with {@code prefix}, up to the next heading. */
        List<String> section(String prefix) {
            List<String> lines = new ArrayList<>();
            boolean in = false;
            try {
                for (String line : text().lines().toList()) {
                    if (line.startsWith("=== ")) {
                        if (in) {
                            break;
                        }
                        in = line.substring(4).startsWith(prefix);
                    } else if (in) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            assertThat(in || !lines.isEmpty()).as("section '" + prefix + "' in the output\n" + describe()).isTrue();
            return lines;
        }

        Matcher match(String section, String regex) {
            Pattern pattern = Pattern.compile(regex);
            for (String line : section(section)) {
                Matcher m = pattern.matcher(line);
                if (m.find()) {
                    return m;
                }
            }
            throw new AssertionError("no line matching " + regex + " in section " + section + "\n" + describe());
        }

        String find(String section, String regex) {
            return match(section, regex).group(1);
        }

        /** The section's lines that start with {@code marker}, as JSON (a marker other than "{" is cut off). */
        List<JsonNode> json(String section, String marker) {
            return section(section).stream().filter(l -> l.startsWith(marker)).map(l -> {
                try {
                    return JSON.readTree(marker.equals("{") ? l : l.substring(marker.length()));
                } catch (IOException e) {
                    throw new AssertionError("not JSON: " + l, e);
                }
            }).toList();
        }

        /** The YAML document printed in a section (its comment lines in parentheses left out). */
        JsonNode yaml(String section) throws IOException {
            String document = String.join("\n", section(section).stream().filter(l -> !l.startsWith("(")).toList());
            return YAML.readTree(document);
        }

        /** Every name the run printed is gone: namespace, links, sockets, processes, its directory. */
        void assertNothingLeft() throws Exception {
            Matcher lab = Pattern.compile("^lab: netns=(\\S+) host_veth=(\\S+) node_veth=(\\S+) server_if=(\\S+) node_if=(\\S+)$",
                    Pattern.MULTILINE).matcher(text());
            assertThat(lab.find()).as("the lab's names in the output\n" + describe()).isTrue();
            String namespace = lab.group(1);
            String suffix = namespace.substring(namespace.indexOf('-') + 1);
            assertThat(NetworkLab.run("ip", "netns", "list")).doesNotContain(namespace);
            String links = NetworkLab.run("ip", "-o", "link", "show");
            for (int i = 2; i <= 5; i++) {
                assertThat(links).as("link " + lab.group(i)).doesNotContain(lab.group(i));
                assertThat(Path.of("/var/run/wireguard", lab.group(i) + ".sock")).doesNotExist();
            }
            Matcher state = Pattern.compile("^standalone state: (\\S+)/state ", Pattern.MULTILINE).matcher(text());
            assertThat(state.find()).isTrue();
            assertThat(Path.of(state.group(1))).as("the demo's temporary directory").doesNotExist();
            List<String> pids = new ArrayList<>();
            Matcher pid = Pattern.compile("^(?:server pid: |pids: server=)(\\d+)(?: node_wireguard_go=(\\d+))?$", Pattern.MULTILINE).matcher(text());
            while (pid.find()) {
                pids.add(pid.group(1));
                if (pid.group(2) != null) {
                    pids.add(pid.group(2));
                }
            }
            assertThat(pids).as("the server's pid in the output").isNotEmpty();
            for (String p : pids) {
                assertThat(ProcessHandle.of(Long.parseLong(p)).filter(ProcessHandle::isAlive)
                        .flatMap(h -> h.info().commandLine())).as("process " + p).isEmpty();
            }
            // nothing still running that names this run: wireguard-go of either side, the node's JVM, the server
            assertThat(ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                    .map(h -> h.info().commandLine().orElse(""))
                    .filter(c -> c.contains(suffix) || c.contains(state.group(1)))).as("processes of this run").isEmpty();
        }
    }
}
