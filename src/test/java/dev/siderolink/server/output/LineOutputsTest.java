package dev.siderolink.server.output;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineOutputsTest {

    @TempDir
    Path dir;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final LineOutputs outputs = new LineOutputs(registry);
    private final AtomicInteger written = new AtomicInteger();
    private final AtomicInteger failed = new AtomicInteger();
    private final LineChunk.Stream stream = new LineChunk.Stream() {
        @Override
        public void written(int lines, int bytes) {
            written.addAndGet(lines);
        }

        @Override
        public void failed(int lines) {
            failed.addAndGet(lines);
        }
    };

    @AfterEach
    void stop() {
        outputs.stop();
    }

    private LineChunk chunk(String lines) {
        byte[] bytes = lines.getBytes(StandardCharsets.UTF_8);
        return new LineChunk(bytes, bytes.length, (int) lines.chars().filter(c -> c == '\n').count(), stream);
    }

    @Test
    void streamsWithTheSameTargetShareOneWriterSoLinesCannotInterleave() {
        assertThat(outputs.writer("stdout", 1024)).isSameAs(outputs.writer(" STDOUT ", 4096));
        Path file = dir.resolve("a/../stream.jsonl");
        assertThat(outputs.writer(file.toString(), 1024)).isSameAs(outputs.writer(dir.resolve("stream.jsonl").toString(), 1024));
        assertThat(outputs.writer(file.toString(), 1024)).isNotSameAs(outputs.writer("stdout", 1024));
    }

    @Test
    void fileOutputIsAppendedToAndCountsWhatIsWritten() throws Exception {
        Path file = dir.resolve("sub/dir/stream.jsonl");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "{\"old\":1}\n");
        LineWriter writer = outputs.writer(file.toString(), 1024);
        assertThat(writer.offer(chunk("{\"a\":1}\n{\"b\":2}\n"))).isTrue();
        writer.submit(chunk("{\"c\":3}\n")).block();
        outputs.stop(); // drains and flushes
        assertThat(Files.readString(file)).isEqualTo("{\"old\":1}\n{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
        assertThat(written.get()).isEqualTo(3);
        assertThat(failed.get()).isZero();
    }

    @Test
    void anUnwritableFileIsRefusedWithItsName() throws Exception {
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "x");
        assertThatThrownBy(() -> outputs.writer(blocker.resolve("stream.jsonl").toString(), 1024))
                .isInstanceOf(OutputUnavailableException.class)
                .hasMessageContaining(blocker.resolve("stream.jsonl").toString());
    }

    @Test
    void aClosedWriterRefusesAndCountsInsteadOfLosingSilently() {
        LineWriter writer = outputs.writer(dir.resolve("s.jsonl").toString(), 1024);
        writer.close();
        assertThat(writer.offer(chunk("{}\n"))).isFalse();
        writer.submit(chunk("{}\n{}\n")).block();
        assertThat(failed.get()).isEqualTo(2);
    }
}
