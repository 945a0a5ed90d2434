package dev.siderolink.server.inventory.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileSystemSync}: the real {@code sync -f}, and the per-file fallback when it cannot run. */
@Timeout(30)
class FileSystemSyncTest {

    @TempDir
    Path dir;

    private final List<Set<Path>> fallbackCalls = new CopyOnWriteArrayList<>();
    private final Journal.Flusher fallback = (files, directories) -> fallbackCalls.add(files);

    @Test
    void syncfsOfTheStateDirectoryNeedsNoFallback() throws IOException {
        Path file = Files.writeString(dir.resolve("a.yaml"), "a");
        FileSystemSync sync = new FileSystemSync(dir, Duration.ofSeconds(20), fallback);

        sync.flush(Set.of(file), Set.of(dir));

        assertThat(sync.fallenBack()).isFalse();
        assertThat(fallbackCalls).isEmpty();
    }

    @Test
    void aMissingCommandFallsBackToEachFileFromThenOn() throws IOException {
        Path file = dir.resolve("a.yaml");
        FileSystemSync sync = new FileSystemSync(List.of("no-such-sync-command-here"), Duration.ofSeconds(5), fallback);

        sync.flush(Set.of(file), Set.of(dir));
        sync.flush(Set.of(file), Set.of(dir));

        assertThat(sync.fallenBack()).isTrue();
        assertThat(fallbackCalls).containsExactly(Set.of(file), Set.of(file));
    }

    @Test
    void aFailingCommandFallsBack() throws IOException {
        Path file = dir.resolve("a.yaml");
        FileSystemSync sync = new FileSystemSync(List.of("sync", "-f", dir.resolve("missing").toString()), Duration.ofSeconds(5), fallback);

        sync.flush(Set.of(file), Set.of(dir));

        assertThat(sync.fallenBack()).isTrue();
        assertThat(fallbackCalls).containsExactly(Set.of(file));
    }

    @Test
    void aSyncThatHangsIsAnErrorNotAFallback() {
        FileSystemSync sync = new FileSystemSync(List.of("sleep", "10"), Duration.ofMillis(200), fallback);

        assertThatThrownBy(() -> sync.flush(Set.of(), Set.of(dir))).isInstanceOf(IOException.class).hasMessageContaining("did not finish");
        assertThat(sync.fallenBack()).isFalse();
        assertThat(fallbackCalls).isEmpty();
    }
}
