package dev.siderolink.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.server.SiderolinkServerApplication;
import dev.siderolink.server.history.Kind;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.logs.TcpLogReceiver;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.NodeChannels;
import dev.talos.api.machine.SequenceEvent;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIf;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.util.FileSystemUtils;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * The HTTP API of a running server (serverlogs and serverevents, standalone store): what an
 * operator's curl gets. Lines reach the history through the real pipeline: a kernel log line over
 * TCP and a Publish over gRPC, both sent from a node's tunnel address (root needed, as in CI).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private ConfigurableApplicationContext app;
    private WebTestClient http;
    private InstallationIdentity identity;
    private final String uuid = UUID.randomUUID().toString();
    private InetAddress node;
    private DummyInterface addresses;

    @BeforeAll
    void start() throws Exception {
        dir = Files.createTempDirectory("http-api");
        app = new SpringApplicationBuilder(SiderolinkServerApplication.class).run(
                "--siderolink.components=serverlogs,serverevents",
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.standalone.rescan-interval=200ms",
                "--siderolink.wireguard.endpoint=192.0.2.10",
                "--siderolink.provision.join-token=very-secret-token",
                "--siderolink.logs.port=0",
                "--siderolink.logs.output=" + dir.resolve("serverlogs.jsonl"),
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("serverevents.jsonl"),
                "--siderolink.history.subscriber-buffer=16",
                "--server.port=0");
        http = WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + app.getEnvironment().getProperty("local.server.port"))
                .responseTimeout(Duration.ofSeconds(20)).build();
        identity = app.getBean(InstallationIdentity.class);
        String server = identity.network().serverAddress().withoutPrefixLength().toCompressedString();
        node = InetAddress.getByName(server.substring(0, server.length() - 1) + "abc");
        String address = node.getHostAddress().replaceAll("%.*", "");
        Path binding = dir.resolve("state/serverbindings/" + uuid + ".yaml");
        Files.createDirectories(binding.getParent());
        Files.writeString(binding, "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\nkind: ServerBinding\nmetadata:\n  name: " + uuid
                + "\n  labels: {cluster.x-k8s.io/cluster-name: prod}\nspec:\n  siderolink: {address: \"" + address
                + "/64\", publicKey: \"ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=\"}\n  hostname: talos-abc\n  addresses: [\"192.0.2.50\"]\n");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> get("/api/v1/servers").size() == 1);
        if (DummyInterface.available()) {
            addresses = new DummyInterface();
            addresses.add(identity.network().serverAddress().withoutPrefixLength().toInetAddress()).add(node);
        }
    }

    @AfterAll
    void stop() {
        if (addresses != null) {
            addresses.close();
        }
        if (app != null) {
            app.close();
        }
        FileSystemUtils.deleteRecursively(dir.toFile());
    }

    private JsonNode get(String path) throws Exception {
        byte[] body = http.get().uri(path).exchange().expectStatus().isOk().expectBody().returnResult().getResponseBody();
        return JSON.readTree(body);
    }

    private JsonNode error(String path, int status) throws Exception {
        byte[] body = http.get().uri(path).exchange().expectStatus().isEqualTo(status)
                .expectHeader().contentTypeCompatibleWith("application/json").expectBody().returnResult().getResponseBody();
        return JSON.readTree(body);
    }

    @Test
    void serversListsEveryBindingWithItsAddressHostnameAndConditionsAndNoLinkWhereLinkDoesNotRun() throws Exception {
        JsonNode servers = get("/api/v1/servers");
        assertThat(servers).hasSize(1);
        JsonNode server = servers.get(0);
        assertThat(server.get("uuid").asText()).isEqualTo(uuid);
        assertThat(server.get("tunnelAddress").asText()).isEqualTo(node.getHostAddress().replaceAll("%.*", "").replaceAll("(:0)+:", "::"));
        assertThat(InetAddress.getByName(server.get("tunnelAddress").asText())).isEqualTo(node);
        assertThat(server.get("hostname").asText()).isEqualTo("talos-abc");
        assertThat(server.get("addresses").get(0).asText()).isEqualTo("192.0.2.50");
        assertThat(server.get("cluster").asText()).isEqualTo("prod");
        assertThat(server.get("conditions").isArray()).isTrue();
        assertThat(server.get("link").isNull()).as("the link component does not run in this process").isTrue();

        assertThat(get("/api/v1/servers/" + uuid)).isEqualTo(server);
    }

    @Test
    void unknownServerIs404WithAJsonError() throws Exception {
        for (String path : List.of("/api/v1/servers/nope", "/api/v1/servers/nope/logs", "/api/v1/servers/nope/events?follow=true")) {
            JsonNode body = error(path, 404);
            assertThat(body.get("error").asText()).as(path).isEqualTo("no server binding named nope");
            assertThat(body.get("status").asInt()).isEqualTo(404);
        }
    }

    @Test
    void badParametersAre400NamingTheParameter() throws Exception {
        assertThat(error("/api/v1/servers/" + uuid + "/logs?tail=ten", 400).get("parameter").asText()).isEqualTo("tail");
        assertThat(error("/api/v1/servers/" + uuid + "/events?tail=-1", 400).get("error").asText()).contains("tail", "-1");
        JsonNode follow = error("/api/v1/servers/" + uuid + "/logs?follow=yes", 400);
        assertThat(follow.get("parameter").asText()).isEqualTo("follow");
        assertThat(follow.get("error").asText()).isEqualTo("follow must be true or false, not \"yes\"");
    }

    @Test
    void kernelArgsAreReadyToPasteAndNeverShowTheJoinToken() throws Exception {
        String prefix = identity.network().serverAddress().withoutPrefixLength().toCompressedString();
        JsonNode body = get("/api/v1/kernel-args");
        assertThat(body.get("kernelArgs").asText()).isEqualTo("siderolink.api=192.0.2.10:8081?jointoken=<join-token> talos.logging.kernel=tcp://["
                + prefix + "]:0 talos.events.sink=[" + prefix + "]:0");
        assertThat(body.get("joinTokenRequired").asBoolean()).isTrue();
        assertThat(body.toString()).doesNotContain("very-secret-token");
        assertThat(body.get("args").get("talos.events.sink").asText()).isEqualTo("[" + prefix + "]:0");
    }

    @Test
    @EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "sending from a tunnel address needs root (CI runs as root)")
    void followedLogsGetALineSentAfterTheyStartedExactlyAsTheStreamPrintsIt() throws Exception {
        Flux<String> followed = http.get().uri("/api/v1/servers/" + uuid + "/logs?tail=0&follow=true").exchange()
                .expectStatus().isOk().expectHeader().contentType("application/x-ndjson")
                .returnResult(String.class).getResponseBody();
        StepVerifier.create(followed)
                .then(() -> sendLogLine("{\"seq\":7,\"msg\":\"hello from the node\",\"facility\":\"kern\"}\n"))
                .assertNext(line -> assertThat(line).isEqualTo(
                        "{\"cluster\":\"prod\",\"facility\":\"kern\",\"msg\":\"hello from the node\",\"seq\":7,\"server_uuid\":\"" + uuid + "\"}"))
                .thenCancel()
                .verify(Duration.ofSeconds(20));

        Path output = dir.resolve("serverlogs.jsonl");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(output) && Files.readString(output).contains("hello from the node"));
        String printed = Files.readAllLines(output).stream().filter(l -> l.contains("hello from the node")).findFirst().orElseThrow() + "\n";
        String stored = new String(http.get().uri("/api/v1/servers/" + uuid + "/logs?tail=1").exchange().expectStatus().isOk()
                .expectHeader().contentType("application/x-ndjson").expectBody().returnResult().getResponseBody(), StandardCharsets.UTF_8);
        assertThat(stored).isEqualTo(printed);
    }

    @Test
    @EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "sending from a tunnel address needs root (CI runs as root)")
    void followedEventsGetAPublishedEventAsTheEventStreamPrintsIt() throws Exception {
        Flux<String> followed = http.get().uri("/api/v1/servers/" + uuid + "/events?follow=true").exchange()
                .expectStatus().isOk().returnResult(String.class).getResponseBody();
        String id = "d4k3n5m2rr1s73c0ffee";
        StepVerifier.create(followed.filter(l -> l.contains(id)))
                .then(() -> publish(id))
                .assertNext(line -> assertThat(line).contains("\"id\":\"" + id + "\"", "\"sequence\":\"boot\"", "\"server_uuid\":\"" + uuid + "\""))
                .thenCancel()
                .verify(Duration.ofSeconds(20));
        Path output = dir.resolve("serverevents.jsonl");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(output) && Files.readString(output).contains(id));
        String printed = Files.readAllLines(output).stream().filter(l -> l.contains(id)).findFirst().orElseThrow();
        String stored = new String(http.get().uri("/api/v1/servers/" + uuid + "/events").exchange().expectStatus().isOk().expectBody()
                .returnResult().getResponseBody(), StandardCharsets.UTF_8);
        assertThat(stored.lines().filter(l -> l.contains(id))).containsExactly(printed);
        // and talosctl's port sees the event as received
        var recorded = app.getBean(ServerHistories.class).events(uuid).stream().filter(e -> e.id().equals(id)).findFirst().orElseThrow();
        assertThat(recorded.typeUrl()).isEqualTo("type.googleapis.com/machine.SequenceEvent");
        assertThat(SequenceEvent.parseFrom(recorded.payload()).getSequence()).isEqualTo("boot");
        assertThat(recorded.node()).isEqualTo(identity.network().serverAddress().withoutPrefixLength().toCompressedString().replaceAll("1$", "abc"));
    }

    @Test
    void aFollowerThatDoesNotReadNeitherHoldsBackRecordingNorGrowsMemory() throws Exception {
        ServerHistories histories = app.getBean(ServerHistories.class);
        MeterRegistry registry = app.getBean(MeterRegistry.class);
        double droppedBefore = registry.get("siderolink.history.subscriber.dropped").tag("kind", "logs").counter().count();
        String port = app.getEnvironment().getProperty("local.server.port");
        try (Socket stalled = new Socket("127.0.0.1", Integer.parseInt(port))) {
            stalled.setReceiveBufferSize(4096);
            stalled.getOutputStream().write(("GET /api/v1/servers/" + uuid + "/logs?tail=0&follow=true HTTP/1.1\r\nHost: x\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            stalled.getOutputStream().flush();
            Thread.sleep(300); // the follow is subscribed; this client never reads again
            byte[] line = ("{\"msg\":\"" + "x".repeat(400) + "\",\"server_uuid\":\"" + uuid + "\"}\n").getBytes(StandardCharsets.UTF_8);
            long started = System.nanoTime();
            for (int i = 0; i < 50_000; i++) {
                histories.recordLines(uuid, line, line.length); // the receivers' entry point
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started)).as("recording 50,000 lines with a stalled follower").isLessThan(Duration.ofSeconds(5));
            assertThat(histories.entries(Kind.LOGS, uuid, -1)).hasSize(5000);
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(
                    () -> registry.get("siderolink.history.subscriber.dropped").tag("kind", "logs").counter().count() > droppedBefore);
            if (addresses != null) {
                // the real pipeline still flows to its output
                sendLogLine("{\"msg\":\"after the stalled follower\"}\n");
                Path output = dir.resolve("serverlogs.jsonl");
                Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(output) && Files.readString(output).contains("after the stalled follower"));
            }
        }
    }

    private void sendLogLine(String line) {
        try (Socket socket = new Socket()) {
            socket.bind(new InetSocketAddress(node, 0));
            socket.connect(app.getBean(TcpLogReceiver.class).boundAddress(), 5000);
            OutputStream out = socket.getOutputStream();
            out.write(line.getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(200); // let the server read before the close
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void publish(String id) {
        try {
            JsonNode health = get("/actuator/health");
            String grpc = health.get("components").get("serverevents").get("details").get("grpc").asText();
            int port = Integer.parseInt(grpc.substring(grpc.lastIndexOf(':') + 1));
            ManagedChannel channel = NodeChannels.from(node, new InetSocketAddress(identity.network().serverAddress().withoutPrefixLength().toInetAddress(), port));
            try {
                EventSinkServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).publish(EventRequest.newBuilder().setId(id)
                        .setData(Any.pack(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build(), "type.googleapis.com"))
                        .build());
            } finally {
                channel.shutdownNow();
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
