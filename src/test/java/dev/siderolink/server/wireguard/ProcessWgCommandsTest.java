package dev.siderolink.server.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The real process runner, with ordinary POSIX tools standing in for wg. */
class ProcessWgCommandsTest {

    private final ProcessWgCommands commands = new ProcessWgCommands();

    @AfterEach
    void close() {
        commands.close();
    }

    @Test
    void passesStandardInputAndReturnsOutput() {
        assertThat(commands.run(List.of("cat"), "secret-on-stdin\n", Duration.ofSeconds(5)).stdout()).isEqualTo("secret-on-stdin\n");
    }

    @Test
    void failureCarriesExitCodeAndStderr() {
        assertThatThrownBy(() -> commands.run(List.of("ls", "/no/such/path"), null, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(CommandException.class, e -> {
                    assertThat(e.kind()).isEqualTo(CommandException.Kind.FAILED);
                    assertThat(e.exitCode()).isNotZero();
                    assertThat(e.stderr()).contains("/no/such/path");
                    assertThat(e.getMessage()).startsWith("ls /no/such/path: exit code");
                });
    }

    @Test
    void aHangingCommandIsKilledAtItsTimeout() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> commands.run(List.of("sleep", "30"), null, Duration.ofMillis(300)))
                .isInstanceOfSatisfying(CommandException.class, e -> assertThat(e.kind()).isEqualTo(CommandException.Kind.TIMEOUT));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void aMissingBinaryIsNamed() {
        assertThatThrownBy(() -> commands.run(List.of("wg-does-not-exist", "show"), null, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(CommandException.class, e -> {
                    assertThat(e.kind()).isEqualTo(CommandException.Kind.NOT_FOUND);
                    assertThat(e.getMessage()).contains("wg-does-not-exist");
                });
    }

    @Test
    void largeOutputOnBothStreamsDoesNotDeadlock() {
        // 4 MiB on stdout and on stderr: far beyond a pipe's buffer
        String script = "head -c 4194304 /dev/zero | tr '\\0' a; head -c 4194304 /dev/zero | tr '\\0' b 1>&2";
        var result = commands.run(List.of("sh", "-c", script), null, Duration.ofSeconds(20));
        assertThat(result.stdout()).hasSize(4 * 1024 * 1024);
        assertThat(result.stderr()).hasSize(4 * 1024 * 1024);
    }

    @Test
    void spawnedProcessGetsTheExtraEnvironment() throws Exception {
        Process process = commands.spawn(List.of("sh", "-c", "test \"$WG_TEST_VAR\" = yes"), Map.of("WG_TEST_VAR", "yes"));
        assertThat(process.waitFor()).isZero();
    }
}
