package dev.siderolink.server.logs;

import static dev.siderolink.server.testing.RunningServer.component;
import static dev.siderolink.server.testing.RunningServer.details;
import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.output.LineChunk;
import dev.siderolink.server.output.LineWriter;
import dev.siderolink.server.testing.RunningServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * The serverlogs process's probes over HTTP when its output breaks: a full disk is recoverable
 * (both probes stay 200, the problem is in the details), a writer thread that has ended is not
 * (liveness 503: only a restart writes lines again).
 */
class ServerLogsProbesTest {

    @TempDir Path dir;

    static boolean devFullExists() {
        return Files.isWritable(Path.of("/dev/full"));
    }

    @Test
    @EnabledIf(value = "devFullExists", disabledReason = "needs /dev/full (every write fails with ENOSPC)")
    void aFullDiskKeepsBothProbesUpAndAStoppedWriterFailsLiveness() throws Exception {
        try (RunningServer server = RunningServer.start(List.of(),
                "--siderolink.components=serverlogs",
                "--siderolink.standalone.dir=" + dir,
                "--siderolink.logs.port=0",
                "--siderolink.logs.output=/dev/full")) {
            LineWriter writer = server.context.getBean("serverLogsWriter", LineWriter.class);
            byte[] line = "{\"msg\":\"hello\"}\n".getBytes(StandardCharsets.UTF_8);
            assertThat(writer.offer(new LineChunk(line, line.length, 1, new LineChunk.Stream() {
                @Override
                public void written(int lines, int bytes) {}

                @Override
                public void failed(int lines) {}
            }))).isTrue();
            Awaitility.await("the failed write shows").atMost(Duration.ofSeconds(30))
                    .until(() -> details(server.health("/readiness", 200), "serverlogs").containsKey("outputProblem"));

            Map<String, Object> ready = server.health("/readiness", 200);
            assertThat(component(ready, "serverlogs")).containsEntry("status", "UP");
            assertThat(details(ready, "serverlogs")).hasEntrySatisfying("outputProblem",
                    problem -> assertThat((String) problem).startsWith("writes are failing: ").contains("No space left on device"));
            assertThat(server.health("/liveness", 200)).containsEntry("status", "UP");

            writerThread("/dev/full").interrupt(); // ends its loop, as an Error thrown from a write would
            Awaitility.await("liveness fails").atMost(Duration.ofSeconds(30)).untilAsserted(() -> server.health("/liveness", 503));
            Map<String, Object> dead = server.health("/liveness", 503);
            assertThat(dead).containsEntry("status", "DOWN");
            assertThat(component(dead, "serverlogs")).containsEntry("status", "DOWN");
            assertThat(details(dead, "serverlogs")).containsEntry("reason", "the output's writer thread has stopped: no line is written any more");
            assertThat(component(server.health("/readiness", 503), "serverlogs")).containsEntry("status", "DOWN");
        }
    }

    private static Thread writerThread(String target) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("line-writer-" + target)).findFirst().orElseThrow();
    }

}
