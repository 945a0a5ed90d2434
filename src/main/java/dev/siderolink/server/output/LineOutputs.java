package dev.siderolink.server.output;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.context.SmartLifecycle;

/**
 * The writers of the stream outputs, one per target: {@code stdout}, or a file path (appended to,
 * created if missing). Streams configured with the same target get the same writer.
 */
public class LineOutputs implements SmartLifecycle {

    /** The target that means this process's standard output. */
    public static final String STDOUT = "stdout";
    /** Stopped after the receivers and sinks that feed the writers (higher phases stop first). */
    public static final int PHASE = -1000;
    private static final int BUFFER_BYTES = 256 * 1024;

    private final MeterRegistry registry;
    private final Map<String, LineWriter> writers = new ConcurrentHashMap<>();
    private volatile boolean running = true;

    public LineOutputs(MeterRegistry registry) {
        this.registry = registry;
    }

    /**
     * The writer for {@code target}, created on first use with a queue of {@code capacityBytes}
     * (later callers share it and its capacity).
     *
     * @throws OutputUnavailableException when a file target cannot be opened for appending
     */
    public LineWriter writer(String target, long capacityBytes) {
        String key = canonical(target);
        return writers.computeIfAbsent(key, k -> {
            LineWriter writer = new LineWriter(k, open(k), capacityBytes);
            Gauge.builder("siderolink.output.queued", writer, LineWriter::queuedBytes)
                    .baseUnit("bytes")
                    .description("Bytes of finished lines waiting for the output's writer")
                    .tag("output", k)
                    .register(registry);
            FunctionCounter.builder("siderolink.output.write.errors", writer, LineWriter::writeErrors)
                    .description("Failed writes or flushes of the output (their lines are counted as dropped by their stream)")
                    .tag("output", k)
                    .register(registry);
            return writer;
        });
    }

    public Collection<LineWriter> writers() {
        return List.copyOf(writers.values());
    }

    static String canonical(String target) {
        if (target == null || target.isBlank() || STDOUT.equalsIgnoreCase(target.trim())) {
            return STDOUT;
        }
        return Path.of(target.trim()).toAbsolutePath().normalize().toString();
    }

    private static OutputStream open(String target) {
        if (STDOUT.equals(target)) {
            // Not System.out: its PrintStream locks and may flush per line; this writer is the only user.
            return new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), BUFFER_BYTES);
        }
        Path path = Path.of(target);
        try {
            if (path.getParent() != null) {
                Files.createDirectories(path.getParent());
            }
            return new BufferedOutputStream(Files.newOutputStream(path, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                    StandardOpenOption.WRITE), BUFFER_BYTES);
        } catch (IOException | SecurityException e) {
            throw new OutputUnavailableException(target, e);
        }
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        writers.values().forEach(LineWriter::close);
        running = false;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
