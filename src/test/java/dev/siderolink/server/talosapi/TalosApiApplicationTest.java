package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.history.RecordedEvent;
import dev.siderolink.server.testing.InMemoryEventHistory;
import dev.siderolink.server.testing.RunningServer;
import dev.talos.api.machine.EventsRequest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;

/**
 * The serverevents component with the Talos API as an operator runs it: the talosconfig from the
 * HTTP endpoint works with the gRPC server, and the CA survives a restart.
 */
class TalosApiApplicationTest {

    @TempDir
    Path dir;

    /** An event history the test fills; primary over the history package's own bean. */
    @Configuration(proxyBeanMethods = false)
    static class History {
        @Bean
        @Primary
        InMemoryEventHistory testEventHistory() {
            return new InMemoryEventHistory();
        }
    }

    private RunningServer start(boolean endpoint) {
        return RunningServer.start(List.of(History.class),
                "--siderolink.components=serverevents",
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("events.jsonl"),
                "--siderolink.wireguard.endpoint=localhost",
                "--siderolink.talos-api.names=127.0.0.1",
                "--siderolink.talos-api.talosconfig-endpoint.enabled=" + endpoint);
    }

    private static String talosconfig(RunningServer server) {
        return server.http.get().uri("/api/v1/talosconfig").exchange()
                .expectStatus().isOk()
                .expectHeader().contentType("application/yaml")
                .expectBody(String.class).returnResult().getResponseBody();
    }

    @Test
    void theTalosconfigFromTheHttpEndpointReadsEventsAndTheCaSurvivesARestart() throws Exception {
        String ca;
        try (RunningServer server = start(true)) {
            String config = talosconfig(server);
            InMemoryEventHistory history = server.bean(InMemoryEventHistory.class);
            history.remember(new RecordedEvent("4c4c4544-0000-1000-8000-00000000000a", "fdae:41e4:649b:9303::a", "da42382a3cm000801au0", "",
                    "type.googleapis.com/machine.SequenceEvent", new byte[] {0x0a, 0x04, 'b', 'o', 'o', 't', 0x10, 0x01}, Instant.now()));
            try (TalosconfigClient client = new TalosconfigClient(config)) {
                assertThat(client.context.get("endpoints")).asList()
                        .containsExactly("localhost:" + server.bean(TalosApiServer.class).boundPort(), "127.0.0.1:" + server.bean(TalosApiServer.class).boundPort());
                var stream = client.events(EventsRequest.newBuilder().setTailEvents(-1).build());
                assertThat(stream.next().getData().getTypeUrl()).isEmpty();
                var event = stream.next();
                assertThat(event.getId()).isEqualTo("da42382a3cm000801au0");
                assertThat(event.getData().getTypeUrl()).isEqualTo("talos/runtime/machine.SequenceEvent");
                stream.close();
            }
            ca = (String) new TalosconfigClient(config).context.get("ca");
        }
        Path file = dir.resolve("state/secret-" + TalosPki.SECRET_NAME + ".yaml");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
        try (RunningServer again = start(true)) {
            assertThat(new TalosconfigClient(talosconfig(again)).context.get("ca")).as("the same CA after a restart").isEqualTo(ca);

            // the command line reads the same state without starting anything
            Path out = dir.resolve("talosconfig");
            ByteArrayOutputStream stderr = new ByteArrayOutputStream();
            int exit = TalosconfigCommand.run(new String[] {
                    "--siderolink.standalone.dir=" + dir.resolve("state"),
                    "--siderolink.wireguard.endpoint=localhost",
                    "--siderolink.talos-api.port=" + again.bean(TalosApiServer.class).boundPort(),
                    "--nodes=talos-a",
                    "--out=" + out}, System.out, new PrintStream(stderr, true, StandardCharsets.UTF_8));
            assertThat(exit).as(stderr.toString(StandardCharsets.UTF_8)).isZero();
            assertThat(Files.getPosixFilePermissions(out)).isEqualTo(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
            try (TalosconfigClient client = new TalosconfigClient(Files.readString(out))) {
                assertThat(client.context.get("ca")).isEqualTo(ca);
                assertThat(client.context.get("nodes")).asList().containsExactly("talos-a");
                var stream = client.events(EventsRequest.newBuilder().build());
                assertThat(stream.next().getData().getTypeUrl()).isEmpty();
                stream.close();
            }
        }
    }

    @Test
    void theTalosconfigCommandSaysWhenThereIsNoCaYet() {
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        int exit = TalosconfigCommand.run(new String[] {"--siderolink.standalone.dir=" + dir.resolve("empty"), "--siderolink.wireguard.endpoint=localhost"},
                new PrintStream(stdout, true, StandardCharsets.UTF_8), new PrintStream(stderr, true, StandardCharsets.UTF_8));
        assertThat(exit).isEqualTo(1);
        assertThat(stderr.toString(StandardCharsets.UTF_8)).contains("secret-siderolink-talos-ca.yaml does not exist", "start the server");
        assertThat(stdout.size()).isZero();
        assertThat(dir.resolve("empty")).doesNotExist();
    }

    @Test
    void theTalosconfigEndpointIsOffByDefault() {
        try (RunningServer server = start(false)) {
            server.http.get().uri("/api/v1/talosconfig").exchange().expectStatus().isNotFound();
        }
    }
}
