package dev.siderolink.server.logs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.siderolink.server.config.HistoryProperties;
import dev.siderolink.server.history.Kind;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.output.LineOutputs;
import dev.siderolink.server.output.LineWriter;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.InMemoryResourceStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * The receivers with real sockets: the server listens on its tunnel address, and "nodes" send from
 * their own SideroLink addresses, all held by a dummy interface (root: CI runs as root).
 */
@EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "needs root and iproute2 to add test addresses")
class LogReceiversTest {

    static final String SEED_UUID = "6b121f82-24a8-4611-9d23-fa1a5ba564f0";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final InMemoryResourceStore store = new InMemoryResourceStore();
    private final ServerHistories history = new ServerHistories(HistoryProperties.DEFAULT, registry);
    private final List<AutoCloseable> closing = new ArrayList<>();
    private SiderolinkNetwork network;
    private DummyInterface addresses;
    private BindingDirectory directory;
    private LogMetrics metrics;
    private LineOutputs outputs;
    private TcpLogReceiver tcp;
    private UdpLogReceiver udp;
    private Path output;
    private InetAddress server;

    @BeforeEach
    void setUp() throws Exception {
        network = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom())).network();
        server = network.serverAddress().toInetAddress();
        addresses = new DummyInterface().add(server);
        directory = new BindingDirectory(store);
        metrics = new LogMetrics(registry, true, store.events());
        outputs = new LineOutputs(registry);
        output = dir.resolve("serverlogs.jsonl");
    }

    private void start(LineWriter writer, int maxMessage) {
        Listen listen = new Listen(server, 0);
        Ingest ingest = new Ingest(maxMessage, network, directory, writer, metrics, history);
        tcp = new TcpLogReceiver(listen, ingest);
        udp = new UdpLogReceiver(listen, 1 << 20, ingest);
        tcp.start();
        udp.start();
    }

    private void start() {
        start(outputs.writer(output.toString(), 1 << 20), 64 * 1024);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (tcp != null) {
            tcp.stop();
        }
        if (udp != null) {
            udp.stop();
        }
        outputs.stop();
        directory.close();
        metrics.close();
        addresses.close();
    }

    /** A node address inside the prefix, on the dummy interface. */
    private InetAddress node(int n) throws Exception {
        InetAddress address = InetAddress.getByName(network.serverAddress().toCompressedString().replace("::1", "::" + Integer.toHexString(0x100 + n)));
        addresses.add(address);
        return address;
    }

    private void bind(String uuid, InetAddress address, String namespace, String metalMachine, String cluster) {
        store.put(new ServerBinding(uuid, new ServerBinding.Siderolink(address.getHostAddress() + "/64", "key-" + uuid),
                metalMachine == null ? null : new ServerBinding.MetalMachineRef(namespace, metalMachine), cluster, null));
    }

    private Socket tcpFrom(InetAddress source) throws IOException {
        Socket socket = new Socket();
        closing.add(socket);
        socket.bind(new InetSocketAddress(source, 0));
        socket.connect(tcp.boundAddress(), 5000);
        return socket;
    }

    private DatagramSocket udpFrom(InetAddress source) throws IOException {
        DatagramSocket socket = new DatagramSocket(new InetSocketAddress(source, 0));
        closing.add(socket);
        socket.connect(udp.boundAddress());
        return socket;
    }

    private static void send(DatagramSocket socket, String message) throws IOException {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(bytes, bytes.length));
    }

    private static void write(Socket socket, String text) throws IOException {
        socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        socket.getOutputStream().flush();
    }

    private List<String> outputLines() throws IOException {
        if (!Files.exists(output)) {
            return List.of();
        }
        String text = Files.readString(output);
        List<String> lines = new ArrayList<>(text.lines().toList());
        if (!text.isEmpty() && !text.endsWith("\n")) {
            lines.remove(lines.size() - 1); // a line still being written
        }
        return lines;
    }

    private List<String> awaitLines(int count) throws Exception {
        return awaitOutput(lines -> lines.size() >= count, "at least " + count + " lines");
    }

    private List<String> awaitOutput(Predicate<List<String>> condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        List<String> lines = outputLines();
        while (!condition.test(lines)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + "; output has " + lines.size() + " lines: "
                        + lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            }
            Thread.sleep(20);
            lines = outputLines();
        }
        return lines;
    }

    private double counter(String name, String... tags) {
        var meter = registry.find(name).tags(tags).counter();
        return meter == null ? 0 : meter.count();
    }

    private void awaitCounter(double expected, String name, String... tags) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (counter(name, tags) < expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(counter(name, tags)).as(name + " " + String.join(",", tags)).isEqualTo(expected);
    }

    private void seedBinding(InetAddress address) {
        bind(SEED_UUID, address, "default", "management-cluster-cp-vrff4", "management-cluster");
        store.putMetalMachine("default", "management-cluster-cp-vrff4", "management-cluster-cp-ddgsw");
    }

    @Test
    void tcpLineFromBoundNodeComesOutAsTheDocumentationShows() throws Exception {
        start();
        InetAddress a = node(1);
        seedBinding(a);
        write(tcpFrom(a), LineAnnotatorTest.SEED_TALOS + "\n");
        assertThat(awaitLines(1)).containsExactly(LineAnnotatorTest.SEED_LINE);
        awaitCounter(1, LogMetrics.WRITTEN, "transport", "tcp");
        assertThat(counter(LogMetrics.RECEIVED, "transport", "tcp")).isEqualTo(1);
        assertThat(counter(LogMetrics.PER_SERVER, "server_uuid", SEED_UUID)).isEqualTo(1);
    }

    @Test
    void udpDatagramFromBoundNodeComesOutAsTheDocumentationShows() throws Exception {
        start();
        InetAddress a = node(1);
        seedBinding(a);
        send(udpFrom(a), LineAnnotatorTest.SEED_TALOS); // no newline, as Talos sends it
        assertThat(awaitLines(1)).containsExactly(LineAnnotatorTest.SEED_LINE);
        awaitCounter(1, LogMetrics.WRITTEN, "transport", "udp");
    }

    @Test
    void manyNodesOverBothTransportsAtOnceGiveWholeLinesEachAnnotatedWithItsSender() throws Exception {
        start();
        int nodes = 4;
        int perNode = 5000;
        Map<String, String> uuidBySender = new HashMap<>();
        List<InetAddress> sources = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
            InetAddress address = node(n);
            sources.add(address);
            bind("uuid-" + n, address, "ns-" + n, "mm-" + n, "cluster-" + n);
            uuidBySender.put("node-" + n, "uuid-" + n);
        }
        ExecutorService pool = Executors.newFixedThreadPool(2 * nodes);
        try {
            List<Future<?>> sends = new ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                int id = n;
                sends.add(pool.submit(() -> {
                    Socket socket = tcpFrom(sources.get(id));
                    StringBuilder batch = new StringBuilder();
                    for (int seq = 0; seq < perNode; seq++) {
                        batch.append("{\"msg\":\"node-").append(id).append(" tcp\",\"seq\":").append(seq).append("}\n");
                        if (batch.length() > 3000) { // many small writes: lines split across reads
                            write(socket, batch.toString());
                            batch.setLength(0);
                        }
                    }
                    write(socket, batch.toString());
                    return null;
                }));
                sends.add(pool.submit(() -> {
                    DatagramSocket socket = udpFrom(sources.get(id));
                    for (int seq = 0; seq < 500; seq++) {
                        send(socket, "{\"msg\":\"node-" + id + " udp\",\"seq\":" + seq + "}");
                        if (seq % 50 == 0) {
                            Thread.sleep(1); // stay far below the socket buffer: this test is about correctness
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : sends) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        List<String> lines = awaitLines(nodes * perNode + nodes * 500);
        assertThat(lines).hasSize(nodes * perNode + nodes * 500);
        Map<String, Long> lastTcpSeq = new HashMap<>();
        for (String line : lines) {
            JsonNode json = JSON.readTree(line); // every line is one whole JSON object
            String[] sender = json.get("msg").asText().split(" ");
            String node = sender[0];
            int n = Integer.parseInt(node.substring(5));
            assertThat(json.get("server_uuid").asText()).isEqualTo(uuidBySender.get(node));
            assertThat(json.get("namespace").asText()).isEqualTo("ns-" + n);
            assertThat(json.get("metal_machine").asText()).isEqualTo("mm-" + n);
            assertThat(json.get("cluster").asText()).isEqualTo("cluster-" + n);
            if (sender[1].equals("tcp")) {
                long seq = json.get("seq").asLong();
                assertThat(seq).as("per-connection order").isEqualTo(lastTcpSeq.getOrDefault(node, -1L) + 1);
                lastTcpSeq.put(node, seq);
            }
        }
        assertThat(counter(LogMetrics.DROPPED, "transport", "udp", "reason", "receive-buffer")).isZero();
        for (int n = 0; n < nodes; n++) {
            assertThat(counter(LogMetrics.PER_SERVER, "server_uuid", "uuid-" + n)).isEqualTo(perNode + 500);
        }
    }

    @Test
    void bothTransportsKeepEachBoundServersLinesInItsHistoryAsPrinted() throws Exception {
        start();
        InetAddress a = node(1);
        seedBinding(a);
        InetAddress unbound = node(8);
        write(tcpFrom(a), LineAnnotatorTest.SEED_TALOS + "\n");
        send(udpFrom(a), "{\"msg\":\"over udp\",\"seq\":2}");
        write(tcpFrom(unbound), "{\"msg\":\"nobody's\"}\n");
        List<String> printed = awaitLines(3);
        List<String> kept = history.entries(Kind.LOGS, SEED_UUID, -1).stream()
                .map(e -> new String(e.line(), StandardCharsets.UTF_8)).toList();
        assertThat(kept).allMatch(l -> l.endsWith("\n")).hasSize(2);
        assertThat(kept.stream().map(String::strip)).containsExactlyInAnyOrderElementsOf(
                printed.stream().filter(l -> l.contains(SEED_UUID)).toList());
        assertThat(history.all()).isEmpty();
        assertThat(history.knows(SEED_UUID)).isTrue();
    }

    @Test
    void nodeWithoutBindingIsPrintedWithoutAnnotation() throws Exception {
        start();
        InetAddress unbound = node(7);
        write(tcpFrom(unbound), "{\"msg\":\"hello\",\"seq\":1}\n");
        send(udpFrom(unbound), "{\"msg\":\"hello\",\"seq\":2}");
        assertThat(awaitLines(2)).containsExactlyInAnyOrder("{\"msg\":\"hello\",\"seq\":1}", "{\"msg\":\"hello\",\"seq\":2}");
    }

    @Test
    void sourcesOutsideThePrefixAreRefusedAndCounted() throws Exception {
        start();
        InetAddress outsider = InetAddress.getByName("::1");
        Socket socket = tcpFrom(outsider);
        socket.setSoTimeout(5000);
        // the server closes the connection at once: reading gives end of stream
        assertThat(socket.getInputStream().read()).isEqualTo(-1);
        awaitCounter(1, LogMetrics.REFUSED, "reason", "unknown-source");
        send(udpFrom(outsider), "{\"msg\":\"spoofed\"}");
        awaitCounter(1, LogMetrics.DROPPED, "transport", "udp", "reason", "unknown-source");
        write(tcpFrom(node(1)), "{\"msg\":\"inside\"}\n");
        assertThat(awaitLines(1)).containsExactly("{\"msg\":\"inside\"}");
    }

    @Test
    void badMessagesAreDroppedAndCountedWithoutClosingTheConnection() throws Exception {
        start();
        InetAddress a = node(1);
        Socket socket = tcpFrom(a);
        byte[] garbage = new byte[8192];
        new java.util.Random(1).nextBytes(garbage);
        for (int i = 0; i < garbage.length; i++) {
            if (garbage[i] == '\n') {
                garbage[i] = 'x';
            }
        }
        write(socket, "{\"msg\":\"first\"}\n");
        write(socket, "{\"msg\": not json\n");
        socket.getOutputStream().write(garbage);
        write(socket, "\n");
        write(socket, "{\"msg\":\"" + "x".repeat(1024 * 1024) + "\"}\n"); // 1 MiB line
        write(socket, "{\"msg\":\"after\"}\n");
        assertThat(awaitLines(2)).containsExactly("{\"msg\":\"first\"}", "{\"msg\":\"after\"}");
        awaitCounter(2, LogMetrics.DROPPED, "transport", "tcp", "reason", "malformed");
        awaitCounter(1, LogMetrics.DROPPED, "transport", "tcp", "reason", "oversize");
        assertThat(counter(LogMetrics.RECEIVED, "transport", "tcp")).isEqualTo(5);

        DatagramSocket datagrams = udpFrom(a);
        send(datagrams, "[\"not\",\"an\",\"object\"]");
        datagrams.send(new DatagramPacket(garbage, 1400));
        send(datagrams, "{\"msg\":\"" + "y".repeat(65_000) + "\"}"); // a large datagram, within the 64 KiB limit
        send(datagrams, "{\"msg\":\"udp after\"}");
        List<String> lines = awaitLines(4);
        assertThat(lines.get(2)).hasSize(65_000 + 10);
        assertThat(lines.get(3)).isEqualTo("{\"msg\":\"udp after\"}");
        awaitCounter(2, LogMetrics.DROPPED, "transport", "udp", "reason", "malformed");
    }

    @Test
    void udpDatagramOverTheConfiguredLimitIsDroppedAsOversize() throws Exception {
        start(outputs.writer(output.toString(), 1 << 20), 1024);
        DatagramSocket socket = udpFrom(node(1));
        send(socket, "{\"msg\":\"" + "z".repeat(2000) + "\"}");
        send(socket, "{\"msg\":\"small\"}");
        assertThat(awaitLines(1)).containsExactly("{\"msg\":\"small\"}");
        awaitCounter(1, LogMetrics.DROPPED, "transport", "udp", "reason", "oversize");
    }

    @Test
    void partialFinalLineIsDroppedAsTalosDropsPartialWrites() throws Exception {
        start();
        Socket socket = tcpFrom(node(1));
        write(socket, "{\"msg\":\"whole\"}\n{\"msg\":\"cut sho");
        socket.close();
        awaitCounter(1, LogMetrics.DROPPED, "transport", "tcp", "reason", "truncated");
        assertThat(outputLines()).containsExactly("{\"msg\":\"whole\"}");
    }

    @Test
    void directoryChangesShowInTheNextLinesWhileTrafficFlows() throws Exception {
        start();
        InetAddress a = node(1);
        Socket socket = tcpFrom(a);
        int[] seq = {0};
        Predicate<String> lastIs = expected -> {
            try {
                String line = "{\"seq\":" + (++seq[0]) + "}\n";
                write(socket, line);
                List<String> lines = awaitLines(seq[0]);
                return lines.get(lines.size() - 1).equals(expected.replace("SEQ", String.valueOf(seq[0])));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
        assertThat(lastIs.test("{\"seq\":SEQ}")).as("no binding yet").isTrue();

        bind("u-1", a, "default", "mm-1", null);
        assertThat(lastIs.test("{\"metal_machine\":\"mm-1\",\"namespace\":\"default\",\"seq\":SEQ,\"server_uuid\":\"u-1\"}")).as("binding created").isTrue();

        bind("u-1", a, "default", "mm-1", "prod");
        assertThat(lastIs.test("{\"cluster\":\"prod\",\"metal_machine\":\"mm-1\",\"namespace\":\"default\",\"seq\":SEQ,\"server_uuid\":\"u-1\"}"))
                .as("cluster label added later").isTrue();

        store.putMetalMachine("default", "mm-1", "machine-1");
        assertThat(lastIs.test("{\"cluster\":\"prod\",\"machine\":\"machine-1\",\"metal_machine\":\"mm-1\",\"namespace\":\"default\",\"seq\":SEQ,\"server_uuid\":\"u-1\"}"))
                .as("MetalMachine owner reference added later").isTrue();

        store.putMetalMachine("other", "mm-2", "machine-2");
        bind("u-1", a, "other", "mm-2", "prod");
        assertThat(lastIs.test("{\"cluster\":\"prod\",\"machine\":\"machine-2\",\"metal_machine\":\"mm-2\",\"namespace\":\"other\",\"seq\":SEQ,\"server_uuid\":\"u-1\"}"))
                .as("re-pointed to another MetalMachine").isTrue();

        store.remove("u-1");
        assertThat(lastIs.test("{\"seq\":SEQ}")).as("binding deleted").isTrue();
        assertThat(registry.find(LogMetrics.PER_SERVER).tags("server_uuid", "u-1").counter()).as("per-server series removed with its binding").isNull();

        bind("u-2", a, null, null, null);
        assertThat(lastIs.test("{\"seq\":SEQ,\"server_uuid\":\"u-2\"}")).as("address given to another server").isTrue();
    }

    @Test
    void tcpPausesWhileTheOutputIsBehindAndLosesNothing() throws Exception {
        Gate gate = new Gate(Files.newOutputStream(output));
        int capacity = 256 * 1024;
        LineWriter writer = new LineWriter("gated", gate, capacity);
        closing.add(writer);
        start(writer, 64 * 1024);
        InetAddress a = node(1);
        bind("u-1", a, "default", "mm-1", "c");
        int total = 200_000;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<?> sender = pool.submit(() -> {
            Socket socket = tcpFrom(a);
            StringBuilder batch = new StringBuilder();
            for (int seq = 0; seq < total; seq++) {
                batch.append("{\"msg\":\"flow control\",\"seq\":").append(seq).append("}\n");
                if (batch.length() > 60_000) {
                    write(socket, batch.toString());
                    batch.setLength(0);
                }
            }
            write(socket, batch.toString());
            return null;
        });
        // The output is stuck: the queue fills to its limit, then the node's writes must block.
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (writer.queuedBytes() < capacity && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(500);
        assertThat(sender.isDone()).as("the sender is paused by TCP flow control").isFalse();
        // bounded: the limit plus at most one read's chunk of the one paused connection
        assertThat(writer.queuedBytes()).isBetween((long) capacity, capacity + 2L * 65536 * 2);
        // UDP cannot wait: its datagram is dropped and counted
        send(udpFrom(a), "{\"msg\":\"while full\"}");
        awaitCounter(1, LogMetrics.DROPPED, "transport", "udp", "reason", "overload");

        gate.open();
        sender.get();
        pool.shutdown();
        List<String> lines = awaitLines(total);
        assertThat(lines).hasSize(total);
        for (int i = 0; i < total; i += 9973) {
            assertThat(JSON.readTree(lines.get(i)).get("seq").asInt()).isEqualTo(i);
        }
        assertThat(JSON.readTree(lines.get(total - 1)).get("seq").asInt()).isEqualTo(total - 1);
    }

    @Test
    void stoppingTheReceiverClosesLiveConnections() throws Exception {
        start();
        Socket socket = tcpFrom(node(1));
        write(socket, "{\"msg\":\"x\"}\n");
        awaitLines(1);
        tcp.stop();
        socket.setSoTimeout(10_000);
        assertThat(socket.getInputStream().read()).isEqualTo(-1);
        tcp = null;
    }

    /** An output that blocks every write until opened: a stuck stdout reader. */
    static final class Gate extends OutputStream {
        private final OutputStream out;
        private final java.util.concurrent.CountDownLatch open = new java.util.concurrent.CountDownLatch(1);

        Gate(OutputStream out) {
            this.out = out;
        }

        void open() {
            open.countDown();
        }

        private void await() throws IOException {
            try {
                open.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        @Override
        public void write(int b) throws IOException {
            await();
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            await();
            out.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            await();
            out.flush();
        }

        @Override
        public void close() throws IOException {
            open();
            out.close();
        }
    }
}
