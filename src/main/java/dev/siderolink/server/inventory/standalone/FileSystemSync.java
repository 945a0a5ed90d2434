package dev.siderolink.server.inventory.standalone;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The journal's checkpoint flush: {@code sync -f <state directory>} (coreutils: {@code syncfs(2)}
 * on the directory's file system), which writes back every dirty file and directory there and
 * flushes the disk's cache once. An fsync per file flushes that cache once per file: hundreds of
 * flushes per checkpoint, each of which the journal's own commits queue behind. Where {@code sync
 * -f} is missing or fails, one fsync per file and directory, as before (said once at WARN).
 */
final class FileSystemSync implements Journal.Flusher {

    private static final Logger log = LoggerFactory.getLogger(FileSystemSync.class);

    private final List<String> command;
    private final Duration timeout;
    private final Journal.Flusher fallback;
    private volatile boolean fallenBack;

    FileSystemSync(Path directory, Duration timeout, Journal.Flusher fallback) {
        this(List.of("sync", "-f", directory.toString()), timeout, fallback);
    }

    FileSystemSync(List<String> command, Duration timeout, Journal.Flusher fallback) {
        this.command = List.copyOf(command);
        this.timeout = timeout;
        this.fallback = fallback;
    }

    @Override
    public void flush(Set<Path> files, Set<Path> directories) throws IOException {
        if (!fallenBack) {
            String problem = syncfs();
            if (problem == null) {
                return;
            }
            fallenBack = true;
            log.warn("standalone journal: `{}` failed ({}); checkpoints fsync each file instead", String.join(" ", command), problem);
        }
        fallback.flush(files, directories);
    }

    /** Whether the fallback is in use (the command failed once). */
    boolean fallenBack() {
        return fallenBack;
    }

    /** Null on success, else what went wrong. */
    private String syncfs() throws IOException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
            return e.getMessage();
        }
        process.getOutputStream().close();
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                // not a missing command: a disk this slow would make fsyncs just as slow
                throw new IOException("`" + String.join(" ", command) + "` did not finish within " + timeout);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for " + command);
        }
        if (process.exitValue() == 0) {
            return null;
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return "exit " + process.exitValue() + (output.isEmpty() ? "" : ": " + output);
    }
}
