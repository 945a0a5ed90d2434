package dev.siderolink.server.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.logs.TcpLogReceiver;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.RunningServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.springframework.util.FileSystemUtils;

/**
 * docs/metrics.md against a running server, both ways: every metric in its table is exported under
 * that name, type and tag set, and every {@code siderolink_*} metric the server exports has a row.
 * Also every {@code siderolink_*} name the docs, README, HELP and log messages mention is one of
 * them. One dynamic test per metric, so a failure names it.
 *
 * <p>The server runs all its components and is given the traffic that makes the per-server series
 * appear (a provisioned node, a kernel log line from its tunnel address). The link component needs
 * root and wireguard-go, and sending from a tunnel address needs root: without them (not in CI,
 * which runs as root) only the serverlogs and serverevents components run, and the rows they cannot
 * check are skipped, each saying why.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsReferenceTest {

    private static final Path DOC = Path.of("docs/metrics.md");
    private static final Pattern ROW = Pattern.compile("^\\|\\s*`(siderolink_[a-z0-9_]+)`\\s*\\|([^|]*)\\|([^|]*)\\|([^|]*)\\|.*$");
    private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{([^}]*)})?\\s");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern MENTION = Pattern.compile("siderolink_[a-z0-9_]+");
    private static final List<String> SERIES_SUFFIXES = List.of("_bucket", "_count", "_sum", "_max");

    /** One row of the table. */
    record Row(String name, String type, Set<String> tags, Set<String> components) {}

    private Path dir;
    private final Map<String, Row> documented = new LinkedHashMap<>();
    private final Map<String, String> exportedTypes = new TreeMap<>();
    private final Map<String, Set<String>> labelsBySample = new TreeMap<>();
    private Set<String> running;
    private String linkSkipped;
    private String trafficSkipped;
    private RunningServer server;
    private DummyInterface nodeAddresses;

    @BeforeAll
    void startServerWithTrafficAndScrape() throws Exception {
        for (String line : Files.readAllLines(DOC)) {
            Matcher row = ROW.matcher(line);
            if (row.matches()) {
                Row previous = documented.put(row.group(1), new Row(row.group(1), row.group(2).trim(), backticked(row.group(3)),
                        Stream.of(row.group(4).split(",")).map(String::trim).collect(Collectors.toSet())));
                assertThat(previous).as("%s listed twice", row.group(1)).isNull();
            }
        }
        assertThat(documented).as("rows in %s", DOC).hasSizeGreaterThan(20);

        dir = Files.createTempDirectory("metrics-reference");
        boolean link = linkCanRun();
        linkSkipped = link ? null : "the link component needs root, /dev/net/tun, wg, wireguard-go and ip (CI runs as root)";
        trafficSkipped = link ? null : "server_uuid series need a provisioned peer and a log line sent from its tunnel address: root";
        running = link ? Set.of("link", "serverlogs", "serverevents") : Set.of("serverlogs", "serverevents");
        List<String> args = new ArrayList<>(List.of(
                "--siderolink.components=" + String.join(",", running),
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.api.port=0",
                "--siderolink.logs.port=0",
                "--siderolink.logs.output=" + dir.resolve("serverlogs.jsonl"),
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("serverevents.jsonl")));
        if (link) {
            args.add("--siderolink.wireguard.interface=slm" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff)));
            args.add("--siderolink.wireguard.port=" + freeUdpPort());
        }
        server = RunningServer.start(List.of(), args.toArray(String[]::new));
        if (link) {
            sendTrafficOfABoundServer();
        }
        parse(scrape());
    }

    /** A node provisions (its peer appears), then sends one kernel log line over TCP from its tunnel address. */
    private void sendTrafficOfABoundServer() throws Exception {
        String uuid = UUID.randomUUID().toString();
        int api = (Integer) RunningServer.details(server.health("", 200), "provision").get("port");
        String nodeAddress;
        try (ProvisionClient client = new ProvisionClient("127.0.0.1", api)) {
            nodeAddress = client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).build()).getNodeAddressPrefix().replace("/64", "");
        }
        Awaitility.await("the node's peer gauges").atMost(Duration.ofSeconds(20))
                .until(() -> scrape().contains("siderolink_wireguard_peer_connected{server_uuid=\"" + uuid + "\"}"));
        InetAddress node = InetAddress.getByName(nodeAddress);
        nodeAddresses = new DummyInterface().add(node);
        InetSocketAddress receiver = server.bean(TcpLogReceiver.class).boundAddress();
        assertThat(receiver.getAddress()).isEqualTo(server.bean(InstallationIdentity.class).network().serverAddress().toInetAddress());
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(node, 0));
            socket.connect(receiver, 5000);
            OutputStream out = socket.getOutputStream();
            out.write("{\"msg\":\"hello from a bound server\"}\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
        Awaitility.await("the node's log counter").atMost(Duration.ofSeconds(20))
                .until(() -> scrape().contains("siderolink_logs_server_messages_total{server_uuid=\"" + uuid + "\"}"));
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
        if (nodeAddresses != null) {
            nodeAddresses.close();
        }
        FileSystemUtils.deleteRecursively(dir.toFile());
    }

    @TestFactory
    Stream<DynamicTest> everyDocumentedMetricIsExportedWithItsTypeAndTags() {
        return documented.values().stream().map(row -> dynamicTest(row.name(), () -> {
            Assumptions.assumeTrue(row.components().stream().anyMatch(running::contains),
                    () -> "component " + row.components() + " not running here: " + linkSkipped);
            Assumptions.assumeTrue(!row.tags().contains("server_uuid") || trafficSkipped == null, () -> trafficSkipped);
            switch (row.type()) {
                case "counter", "gauge" -> {
                    assertThat(exportedTypes.get(row.name())).as("type of %s as exported (null: not exported)", row.name()).isEqualTo(row.type());
                    assertThat(labelsBySample.get(row.name())).as("tags of %s", row.name()).isEqualTo(row.tags());
                }
                case "summary", "histogram" -> {
                    assertThat(exportedTypes.get(row.name())).as("type of %s as exported (null: not exported)", row.name()).isEqualTo(row.type());
                    assertThat(exportedTypes.get(row.name() + "_max")).as("type of %s_max", row.name()).isEqualTo("gauge");
                    assertThat(labelsBySample.get(row.name() + "_count")).as("tags of %s", row.name()).isEqualTo(row.tags());
                    assertThat(labelsBySample.get(row.name() + "_max")).as("tags of %s_max", row.name()).isEqualTo(row.tags());
                }
                default -> throw new AssertionError(row.name() + ": type must be counter, gauge, summary or histogram, not " + row.type());
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> everyExportedMetricIsDocumented() {
        assertThat(exportedTypes.keySet()).as("the scrape has siderolink metrics").anyMatch(name -> name.startsWith("siderolink_"));
        return exportedTypes.keySet().stream().filter(name -> name.startsWith("siderolink_")).map(name -> dynamicTest(name, () ->
                assertThat(isDocumentedFamily(name)).as("%s is exported but has no row in %s", name, DOC).isTrue()));
    }

    @TestFactory
    Stream<DynamicTest> everyMetricNameTheDocsAndLogMessagesMentionExists() throws IOException {
        List<Path> files = new ArrayList<>(List.of(Path.of("README.md"), Path.of("HELP.md")));
        for (Path root : List.of(Path.of("docs"), Path.of("src/main"))) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.filter(Files::isRegularFile).filter(p -> p.toString().matches(".*\\.(md|java|yaml|yml|properties)$")).sorted().forEach(files::add);
            }
        }
        List<DynamicTest> tests = new ArrayList<>();
        Mentions.in(files, MENTION).forEach((file, names) -> names.forEach(name ->
                tests.add(dynamicTest(file + ": " + name, () -> assertThat(isDocumentedMention(name))
                        .as("%s names %s, which is not in %s", file, name, DOC).isTrue()))));
        return tests.stream();
    }

    private boolean isDocumentedFamily(String family) {
        if (documented.containsKey(family)) {
            return true;
        }
        Row timer = family.endsWith("_max") ? documented.get(family.substring(0, family.length() - 4)) : null;
        return timer != null && (timer.type().equals("summary") || timer.type().equals("histogram"));
    }

    /** A documented name, one of its series (_count, _sum, _max, _bucket of a summary or histogram), or a prefix ending in _ of one. */
    private boolean isDocumentedMention(String name) {
        if (name.endsWith("_")) {
            return documented.keySet().stream().anyMatch(d -> d.startsWith(name));
        }
        if (documented.containsKey(name)) {
            return true;
        }
        for (String suffix : SERIES_SUFFIXES) {
            Row row = name.endsWith(suffix) ? documented.get(name.substring(0, name.length() - suffix.length())) : null;
            if (row != null && (row.type().equals("summary") || row.type().equals("histogram"))) {
                return true;
            }
        }
        return false;
    }

    private String scrape() {
        return server.http.get().uri("/actuator/prometheus").header("Accept", "text/plain;version=0.0.4").exchange()
                .expectStatus().isOk().expectBody(String.class).returnResult().getResponseBody();
    }

    /** TYPE lines give each family's type; sample lines give each sample name's label names ({@code le} of buckets left out). */
    private void parse(String exposition) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                exportedTypes.put(parts[2], parts[3]);
            } else if (!line.startsWith("#") && !line.isBlank()) {
                Matcher sample = SAMPLE.matcher(line);
                assertThat(sample.find()).as("sample line %s", line).isTrue();
                Set<String> labels = new TreeSet<>();
                if (sample.group(3) != null) {
                    Matcher label = LABEL.matcher(sample.group(3));
                    while (label.find()) {
                        labels.add(label.group(1));
                    }
                }
                labels.remove("le");
                Set<String> previous = labelsBySample.putIfAbsent(sample.group(1), labels);
                assertThat(previous == null || previous.equals(labels)).as("%s has one tag set", sample.group(1)).isTrue();
            }
        }
    }

    private static Set<String> backticked(String cell) {
        Set<String> names = new TreeSet<>();
        Matcher m = BACKTICKED.matcher(cell);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    static boolean linkCanRun() {
        return DummyInterface.available()
                && Files.isExecutable(Path.of("/usr/bin/wg"))
                && (Files.isExecutable(Path.of("/usr/bin/wireguard-go")) || Files.isExecutable(Path.of("/usr/sbin/wireguard-go")))
                && Files.exists(Path.of("/dev/net/tun"));
    }

    private static int freeUdpPort() {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
