package dev.siderolink.server.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import dev.siderolink.server.inventory.standalone.StandaloneWrites;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The storage reference for the Provision and event benchmarks: what the file system under the
 * state directory allows, with no server involved. Worker threads replace small files (about the
 * size of a ServerBinding) durably, with one of two protocols: {@code recycle} (the default) is
 * the standalone store's own ({@link StandaloneWrites}: the replaced inode is kept as the next
 * write's spare); {@code fresh} is the textbook one the store used before: new temp file in the
 * same directory, write, fsync, atomic rename over the old file, fsync of the directory. The files
 * are a fixed set cycled through, like the reprovision scenario. Bounded by time and count; prints
 * the same {@code RESULT key=value ...} line as {@link ProvisionLoad}.
 */
public final class DiskReplaceLoad {

    private final Path dir;
    private final int threads;
    private final int files;
    private final double warmupSeconds;
    private final double durationSeconds;
    private final long maxOps;
    private final String protocol;
    private final StandaloneWrites recycling = new StandaloneWrites();
    private final AtomicLong cursor = new AtomicLong();
    private final AtomicLong issued = new AtomicLong();
    private volatile Window current;
    private volatile boolean stop;

    /** Operations completing while a window is current are counted in it. */
    private static final class Window {
        final String name;
        final Recorder latencyMicros = new Recorder(3);
        final LongAdder ok = new LongAdder();
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        volatile long startNanos;
        volatile long endNanos;
        long cpuStart = -1;
        long cpuEnd = -1;

        Window(String name) {
            this.name = name;
        }
    }

    DiskReplaceLoad(Path dir, int threads, int files, double warmupSeconds, double durationSeconds, long maxOps, String protocol) {
        this.dir = dir;
        this.protocol = protocol;
        this.threads = threads;
        this.files = files;
        this.warmupSeconds = warmupSeconds;
        this.durationSeconds = durationSeconds;
        this.maxOps = maxOps;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> values = new LinkedHashMap<>();
        values.put("dir", null);
        values.put("threads", Integer.toString(10 * Runtime.getRuntime().availableProcessors()));
        values.put("files", "1000");
        values.put("warmup-seconds", "5");
        values.put("duration-seconds", "15");
        values.put("max-ops", "2000000");
        values.put("protocol", "recycle");
        DiskReplaceLoad load;
        try {
            for (String arg : args) {
                int eq = arg.indexOf('=');
                String name = arg.startsWith("--") && eq > 2 ? arg.substring(2, eq) : null;
                if (name == null || !values.containsKey(name)) {
                    throw new IllegalArgumentException("unknown argument " + arg + "; known: " + values.keySet());
                }
                values.put(name, arg.substring(eq + 1));
            }
            if (values.get("dir") == null) {
                throw new IllegalArgumentException("--dir is required (an empty or new directory on the file system to measure)");
            }
            load = new DiskReplaceLoad(Path.of(values.get("dir")), Integer.parseInt(values.get("threads")),
                    Integer.parseInt(values.get("files")), Double.parseDouble(values.get("warmup-seconds")),
                    Double.parseDouble(values.get("duration-seconds")), Long.parseLong(values.get("max-ops")),
                    values.get("protocol"));
            load.check();
        } catch (IllegalArgumentException e) {
            System.err.println("DiskReplaceLoad: " + e.getMessage());
            System.err.println("usage: DiskReplaceLoad --dir=D [--threads=10*cores] [--files=1000] [--warmup-seconds=5]"
                    + " [--duration-seconds=15] [--max-ops=2000000] [--protocol=recycle|fresh]");
            System.exit(2);
            return;
        }
        System.exit(load.run());
    }

    private void check() {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be 1..1024");
        }
        if (files < 1 || files > 100_000) {
            throw new IllegalArgumentException("files must be 1..100000");
        }
        if (warmupSeconds < 0 || warmupSeconds > 600 || durationSeconds <= 0 || durationSeconds > 3600) {
            throw new IllegalArgumentException("warmup-seconds must be 0..600, duration-seconds >0 and <=3600");
        }
        if (maxOps < 1) {
            throw new IllegalArgumentException("max-ops must be >= 1");
        }
        if (!protocol.equals("recycle") && !protocol.equals("fresh")) {
            throw new IllegalArgumentException("protocol must be recycle (the store's) or fresh (a new temp file per write)");
        }
    }

    int run() throws IOException, InterruptedException {
        System.out.printf(Locale.ROOT, "disk: %d threads durably replacing %d files in %s (protocol %s), warm-up %.1f s, measure %.1f s%n",
                threads, files, dir, protocol, warmupSeconds, durationSeconds);
        Files.createDirectories(dir);
        long setupStart = System.nanoTime();
        for (int i = 0; i < files; i++) {
            replace(i);
        }
        System.out.printf(Locale.ROOT, "setup: created %d files in %.1f s (untimed)%n", files, (System.nanoTime() - setupStart) / 1e9);

        Window warmup = new Window("warm-up");
        Window measure = new Window("measure");
        open(warmup);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(this::work, "disk-" + t);
            worker.setDaemon(true);
            workers.add(worker);
            worker.start();
        }
        sleepSeconds(warmupSeconds);
        close(warmup);
        issued.set(0);
        open(measure);
        long end = measure.startNanos + (long) (durationSeconds * 1e9);
        while (!stop && System.nanoTime() < end && issued.get() < maxOps) {
            Thread.sleep(Math.max(1, Math.min(50, (end - System.nanoTime()) / 1_000_000)));
        }
        close(measure);
        current = new Window("drain");
        stop = true;
        boolean joined = true;
        long joinDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (Thread worker : workers) {
            worker.join(Math.max(1, (joinDeadline - System.nanoTime()) / 1_000_000));
            joined &= !worker.isAlive();
        }
        if (!joined) {
            System.out.println("some writers were still blocked 30 s after the end");
        }
        report(warmup, false);
        return report(measure, true) && joined ? 0 : 1;
    }

    private void open(Window window) {
        window.cpuStart = BenchProcess.ownCpuMillis();
        window.startNanos = System.nanoTime();
        current = window;
    }

    private void close(Window window) {
        window.endNanos = System.nanoTime();
        window.cpuEnd = BenchProcess.ownCpuMillis();
    }

    private void work() {
        long errors = 0;
        while (!stop) {
            if (current.name.equals("measure") && issued.incrementAndGet() > maxOps) {
                return;
            }
            int index = (int) Math.floorMod(cursor.getAndIncrement(), (long) files);
            long start = System.nanoTime();
            String outcome;
            try {
                replace(index);
                outcome = null;
            } catch (IOException | RuntimeException e) {
                outcome = "IO_" + e.getClass().getSimpleName();
            }
            Window window = current;
            if (outcome == null) {
                window.ok.increment();
                window.latencyMicros.recordValue(Math.max(1, (System.nanoTime() - start) / 1_000));
            } else {
                window.errors.computeIfAbsent(outcome, k -> new LongAdder()).increment();
                if (++errors >= 1000) {
                    stop = true; // the file system is broken; no point hammering it
                }
            }
        }
    }

    private void replace(int index) throws IOException {
        if (protocol.equals("recycle")) {
            recycling.replace(dir.resolve("f" + index + ".yaml"), content(index));
        } else {
            replaceFresh(index);
        }
    }

    /** The textbook durable replace: new temp file, fsync, rename over the target, fsync of the directory. */
    private void replaceFresh(int index) throws IOException {
        String name = "f" + index + ".yaml";
        Path target = dir.resolve(name);
        Path temp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        ByteBuffer content = ByteBuffer.wrap(content(index));
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            while (content.hasRemaining()) {
                channel.write(content);
            }
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    /** About what a ServerBinding file holds (~330 bytes), with a fresh random key each time. */
    private static byte[] content(int index) {
        return ("---\napiVersion: \"infrastructure.cluster.x-k8s.io/v1alpha3\"\nkind: \"ServerBinding\"\nmetadata:\n"
                + "  name: \"file-" + index + "\"\nspec:\n  siderolink:\n    address: \"fd00:0:0:0:0:0:0:" + Integer.toHexString(index + 2)
                + "/64\"\n    publicKey: \"" + ProvisionLoad.randomPublicKey() + "\"\n").getBytes(StandardCharsets.UTF_8);
    }

    private boolean report(Window window, boolean result) {
        Histogram h = window.latencyMicros.getIntervalHistogram();
        long ok = window.ok.sum();
        long bad = window.errors.values().stream().mapToLong(LongAdder::sum).sum();
        double seconds = (window.endNanos - window.startNanos) / 1e9;
        double rate = seconds > 0 ? ok / seconds : 0;
        Map<String, Long> errors = new LinkedHashMap<>();
        window.errors.forEach((k, v) -> errors.put(k, v.sum()));
        System.out.printf(Locale.ROOT, "%s: %d replaces in %.2f s = %.0f/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; errors %s%n",
                window.name, ok, seconds, rate, h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
                h.getMaxValue() / 1000.0, errors);
        if (result) {
            long cpu = window.cpuStart < 0 || window.cpuEnd < 0 ? -1 : window.cpuEnd - window.cpuStart;
            String perOp = cpu < 0 || ok + bad == 0 ? "-" : String.format(Locale.ROOT, "%.0f", cpu * 1000.0 / (ok + bad));
            StringBuilder codes = new StringBuilder();
            errors.forEach((k, v) -> codes.append(codes.length() == 0 ? "" : ",").append(k).append(':').append(v));
            System.out.printf(Locale.ROOT, "RESULT scenario=disk status=done calls=%d seconds=%.3f calls_per_s=%.1f p50_ms=%.3f p99_ms=%.3f"
                            + " max_ms=%.3f errors=%d error_codes=%s concurrency=%d server_cpu_us_per_call=- server_sys_us_per_call=-"
                            + " client_cpu_us_per_call=%s cpu_bound_calls_per_s=-%n",
                    ok, seconds, rate, h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
                    h.getMaxValue() / 1000.0, bad, codes.length() == 0 ? "-" : codes, threads, perOp);
        }
        return bad == 0;
    }

    private static void sleepSeconds(double seconds) throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep((long) (seconds * 1000));
    }
}
