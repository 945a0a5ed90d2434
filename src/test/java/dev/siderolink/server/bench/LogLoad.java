package dev.siderolink.server.bench;

import com.sun.net.httpserver.HttpServer;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.output.LineChunk;
import dev.siderolink.server.output.LineOutputs;
import dev.siderolink.server.output.LineWriter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.ByteProcessor;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.DisposableServer;
import reactor.netty.tcp.TcpServer;
import reactor.netty.udp.UdpServer;

/**
 * Load generator and references for the kernel-log benchmark ({@code scripts/bench-logs.sh}).
 * One main class, the mode is the first argument:
 *
 * <ul>
 *   <li>{@code prepare}: writes a fresh standalone state directory: the installation Secret, one
 *       ServerBinding (and MetalMachine) per benchmark node, and prints the server's tunnel address
 *       and the node addresses;
 *   <li>{@code tcp}: one connection per source address, each writing Talos-shaped messages (the
 *       seed's example, {@code seq} and {@code clock} counting up) in large writes as fast as the
 *       receiver reads them; warm-up, then a measured window; the connections are closed once the
 *       receiver has accounted for every line ({@code --close=at-once}: right after the window);
 *   <li>{@code udp}: one connected socket per source address, one message per datagram (no
 *       newline), paced to a total rate;
 *   <li>{@code rawcopy}: the ceiling: receives the same TCP and UDP traffic, and writes the bytes
 *       unparsed, whole lines at a time, through the server's own {@link LineWriter} to the same
 *       kind of output, counting lines; counters on a small HTTP endpoint;
 *   <li>{@code sink}: reads its standard input (the output pipe of the server or the copier) to
 *       the end, cheaply, and keeps a sample of the last line in a file (for experiments it can
 *       also read slowly: {@code --max-bytes-per-second}).
 * </ul>
 *
 * <p>{@code tcp} and {@code udp} measure on the receiver's side: they scrape its Prometheus
 * counters ({@code <prefix>_written_total}, {@code _received_total}, {@code _dropped_total}) at the
 * edges of the measured window, read CPU time from {@code /proc}, and print a machine-readable
 * {@code RESULT key=value ...} line last. Exit status 0 when every message sent is accounted for
 * (written, or counted as dropped), 1 otherwise, 2 on bad arguments, 3 when the watchdog fired.
 */
public final class LogLoad {

    // ------------------------------------------------------------------------------------------
    // messages

    /**
     * The seed's example Talos message with fixed-width {@code clock} and {@code seq} fields, so
     * that the counters can be rewritten in place. {@code \n} inside msg is backslash-n.
     */
    static final class Message {
        static final int CLOCK_WIDTH = 10;
        static final int SEQ_WIDTH = 8;
        static final long CLOCK_START = 1_000_000_000L;
        static final long CLOCK_STEP = 13; // microseconds between two messages, roughly what a chatty boot looks like
        static final long SEQ_START = 10_000_000L;
        private static final String HEAD = "{\"clock\":";
        private static final String MIDDLE = ",\"facility\":\"user\",\"msg\":\"[talos] phase mountState (6/13): 1 tasks(s)\\n\","
                + "\"priority\":\"warning\",\"seq\":";
        private static final String TAIL = ",\"talos-level\":\"warn\",\"talos-time\":\"2022-02-11T12:42:02.74807823Z\"}";

        static final byte[] TEMPLATE = (HEAD + "0".repeat(CLOCK_WIDTH) + MIDDLE + "0".repeat(SEQ_WIDTH) + TAIL).getBytes(StandardCharsets.US_ASCII);
        static final int CLOCK_OFFSET = HEAD.length();
        static final int SEQ_OFFSET = HEAD.length() + CLOCK_WIDTH + MIDDLE.length();
        static final int LENGTH = TEMPLATE.length;

        /** Message number {@code n} (from 0) of one node: seq and clock counting up, wrapping before they change width. */
        static void stamp(ByteBuffer buf, int at, long n) {
            digits(buf, at + SEQ_OFFSET, SEQ_WIDTH, SEQ_START + n % 89_999_999L);
            digits(buf, at + CLOCK_OFFSET, CLOCK_WIDTH, CLOCK_START + (n * CLOCK_STEP) % 8_999_999_999L);
        }

        private static void digits(ByteBuffer buf, int at, int width, long value) {
            for (int i = at + width - 1; i >= at; i--) {
                buf.put(i, (byte) ('0' + value % 10));
                value /= 10;
            }
        }

        /** {@code count} messages (each followed by a newline when {@code newline}) in one direct buffer. */
        static ByteBuffer batch(int count, boolean newline) {
            int stride = LENGTH + (newline ? 1 : 0);
            ByteBuffer buf = ByteBuffer.allocateDirect(count * stride);
            for (int i = 0; i < count; i++) {
                buf.put(TEMPLATE);
                if (newline) {
                    buf.put((byte) '\n');
                }
            }
            return buf.flip();
        }
    }

    // ------------------------------------------------------------------------------------------
    // options

    /** {@code --name=value} options over defaults; unknown names are an error. */
    static final class Options {
        private final Map<String, String> values;

        Options(Map<String, String> defaults, String[] args) {
            values = new LinkedHashMap<>(defaults);
            for (int i = 1; i < args.length; i++) {
                String arg = args[i];
                int eq = arg.indexOf('=');
                if (!arg.startsWith("--") || eq < 0) {
                    throw new IllegalArgumentException("expected --name=value, got " + arg);
                }
                String name = arg.substring(2, eq);
                if (!values.containsKey(name)) {
                    throw new IllegalArgumentException("unknown option --" + name + "; known: " + values.keySet());
                }
                values.put(name, arg.substring(eq + 1));
            }
        }

        String text(String name) {
            String v = values.get(name);
            if (v == null || v.isEmpty()) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return v;
        }

        String textOrEmpty(String name) {
            return values.get(name) == null ? "" : values.get(name);
        }

        long number(String name, long min, long max) {
            long v = Long.parseLong(text(name));
            if (v < min || v > max) {
                throw new IllegalArgumentException("--" + name + " must be " + min + ".." + max + ", got " + v);
            }
            return v;
        }

        double seconds(String name, double min, double max) {
            double v = Double.parseDouble(text(name));
            if (!(v >= min && v <= max)) {
                throw new IllegalArgumentException("--" + name + " must be " + min + ".." + max + ", got " + v);
            }
            return v;
        }

        InetAddress address(String name) throws IOException {
            return InetAddress.getByName(text(name));
        }

        List<InetAddress> addresses(String name) throws IOException {
            List<InetAddress> out = new ArrayList<>();
            for (String s : text(name).split(",")) {
                out.add(InetAddress.getByName(s.trim()));
            }
            return out;
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args.length == 0 ? "" : args[0];
        int status;
        try {
            status = switch (mode) {
                case "prepare" -> prepare(args);
                case "tcp" -> new Driver(args, false).run();
                case "udp" -> new Driver(args, true).run();
                case "rawcopy" -> rawCopy(args);
                case "sink" -> sink(args);
                default -> throw new IllegalArgumentException("mode must be prepare, tcp, udp, rawcopy or sink, not '" + mode + "'");
            };
        } catch (IllegalArgumentException e) {
            System.err.println("LogLoad: " + e.getMessage());
            status = 2;
        }
        System.out.flush();
        System.exit(status);
    }

    // ------------------------------------------------------------------------------------------
    // prepare: state directory with Secret, bindings, MetalMachines

    private static int prepare(String[] args) throws IOException {
        Options o = new Options(Map.of("dir", "", "nodes", "4"), args);
        Path dir = Path.of(o.text("dir"));
        int nodes = (int) o.number("nodes", 1, 64);
        SecureRandom random = new SecureRandom();
        InstallationSecret secret = InstallationIdentity.generateSecret(random);
        SiderolinkNetwork network = InstallationIdentity.from(secret).network();
        Files.createDirectories(dir.resolve("serverbindings"));
        Files.createDirectories(dir.resolve("metalmachines/default"));
        Base64.Encoder b64 = Base64.getEncoder();
        // the shape StandaloneResourceStore writes at first start (data values: base64 of the base64 key texts)
        String secretYaml = """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: %s
                  namespace: default
                  labels:
                    clusterctl.cluster.x-k8s.io/move: ""
                data:
                  %s: %s
                  %s: %s
                """.formatted(InstallationSecret.NAME,
                InstallationSecret.INSTALLATION_ID_KEY, b64.encodeToString(secret.installationId().getBytes(StandardCharsets.UTF_8)),
                InstallationSecret.PRIVATE_KEY_KEY, b64.encodeToString(secret.privateKey().getBytes(StandardCharsets.UTF_8)));
        Path secretFile = dir.resolve("secret-siderolink.yaml");
        Files.writeString(secretFile, secretYaml);
        Files.setPosixFilePermissions(secretFile, PosixFilePermissions.fromString("rw-------"));
        List<String> addresses = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            byte[] interfaceId = new byte[8];
            random.nextBytes(interfaceId);
            interfaceId[0] |= 0x02; // never ::1 (the server) or another all-zero-ish id
            String address = network.nodeAddress(interfaceId).toCompressedString();
            String uuid = UUID.randomUUID().toString();
            byte[] key = new byte[32];
            random.nextBytes(key);
            String metalMachine = "bench-worker-" + i;
            Files.writeString(dir.resolve("serverbindings/" + uuid + ".yaml"), """
                    apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                    kind: ServerBinding
                    metadata:
                      name: %s
                      labels:
                        cluster.x-k8s.io/cluster-name: management-cluster
                    spec:
                      metalMachineRef:
                        namespace: default
                        name: %s
                      siderolink:
                        address: %s/64
                        publicKey: %s
                    """.formatted(uuid, metalMachine, address, b64.encodeToString(key)));
            Files.writeString(dir.resolve("metalmachines/default/" + metalMachine + ".yaml"), """
                    apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                    kind: MetalMachine
                    metadata:
                      name: %s
                      namespace: default
                      ownerReferences:
                        - apiVersion: cluster.x-k8s.io/v1beta1
                          kind: Machine
                          name: management-cluster-workers-%d
                          uid: %s
                    """.formatted(metalMachine, i, UUID.randomUUID()));
            addresses.add(address);
        }
        System.out.println("network=" + network.prefixText());
        System.out.println("server=" + network.serverAddress().toCompressedString());
        System.out.println("nodes=" + String.join(",", addresses));
        return 0;
    }

    // ------------------------------------------------------------------------------------------
    // tcp / udp load with measurement on the receiver's side

    /** Counters and CPU times at one instant. */
    record Snapshot(long nanos, Map<String, Double> metrics, long targetTicks, long targetSysTicks, Map<String, Long> targetThreads, long sinkTicks,
            long selfCpuNanos, long hostBusyTicks, long hostStealTicks, long sent, long kernelDrops) {}

    static final class Driver {
        private final boolean udp;
        private final String transport;
        private final InetAddress target;
        private final int port;
        private final List<InetAddress> sources;
        private final double warmupSeconds;
        private final double durationSeconds;
        private final URI metricsUrl;
        private final String prefix;
        private final long targetPid;
        private final long sinkPid;
        private final int clockTicks;
        private final long rate;
        private final int batch;
        private final boolean closeEarly;
        private final AtomicLong[] sentBy;
        private final AtomicLong maxLagNanos = new AtomicLong();
        private final AtomicLong secondLagNanos = new AtomicLong();
        private volatile boolean stop;

        Driver(String[] args, boolean udp) throws IOException {
            Map<String, String> d = new LinkedHashMap<>();
            d.put("target", "");
            d.put("port", "4001");
            d.put("sources", "");
            d.put("warmup-seconds", udp ? "5" : "15");
            d.put("duration-seconds", udp ? "30" : "20");
            d.put("metrics-url", "");
            d.put("metric-prefix", "siderolink_logs");
            d.put("target-pid", "0");
            d.put("sink-pid", "0");
            d.put("clk-tck", "100");
            d.put("rate", "100000");
            d.put("batch", "1024");
            d.put("close", "after-drain");
            Options o = new Options(d, args);
            this.udp = udp;
            this.transport = udp ? "udp" : "tcp";
            this.target = o.address("target");
            this.port = (int) o.number("port", 1, 65535);
            this.sources = o.addresses("sources");
            this.warmupSeconds = o.seconds("warmup-seconds", 0, 600);
            this.durationSeconds = o.seconds("duration-seconds", 1, 3600);
            this.metricsUrl = URI.create(o.text("metrics-url"));
            this.prefix = o.text("metric-prefix");
            this.targetPid = o.number("target-pid", 0, Long.MAX_VALUE);
            this.sinkPid = o.number("sink-pid", 0, Long.MAX_VALUE);
            this.clockTicks = (int) o.number("clk-tck", 1, 100_000);
            this.rate = o.number("rate", 1, 10_000_000);
            this.batch = (int) o.number("batch", 1, 100_000);
            this.closeEarly = switch (o.text("close")) {
                case "after-drain" -> false;
                case "at-once" -> true;
                default -> throw new IllegalArgumentException("--close must be after-drain or at-once");
            };
            if (!(target instanceof Inet6Address) || !isLocal(target)) {
                throw new IllegalArgumentException("--target must be an IPv6 address of this machine (the benchmark never sends elsewhere): " + target);
            }
            for (InetAddress s : sources) {
                if (!isLocal(s)) {
                    throw new IllegalArgumentException("source " + s + " is not an address of this machine");
                }
            }
            String host = metricsUrl.getHost();
            if (host == null || !InetAddress.getByName(host).isLoopbackAddress()) {
                throw new IllegalArgumentException("--metrics-url must be on loopback");
            }
            sentBy = new AtomicLong[sources.size()];
            for (int i = 0; i < sentBy.length; i++) {
                sentBy[i] = new AtomicLong();
            }
        }

        private static boolean isLocal(InetAddress a) {
            try {
                return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null;
            } catch (IOException e) {
                return false;
            }
        }

        int run() throws Exception {
            long budgetMillis = (long) ((warmupSeconds + durationSeconds) * 1000) + 180_000;
            BenchProcess.startWatchdog("LogLoad", budgetMillis);
            System.out.printf(Locale.ROOT, "%s: %d sources -> [%s]:%d, %s, warm-up %.0f s, measure %.0f s; message %d bytes%n",
                    transport, sources.size(), target.getHostAddress(), port,
                    udp ? "paced at " + rate + " msg/s in total, one datagram per message" : "as fast as the receiver reads, " + batch + " lines per write",
                    warmupSeconds, durationSeconds, Message.LENGTH);
            Snapshot before = snapshot();
            List<Thread> threads = new ArrayList<>();
            long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
            long end = start + (long) ((warmupSeconds + durationSeconds) * 1e9);
            List<AutoCloseable> channels = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                int index = i;
                if (udp) {
                    DatagramChannel ch = DatagramChannel.open(StandardProtocolFamily.INET6);
                    ch.bind(new InetSocketAddress(sources.get(i), 0));
                    ch.connect(new InetSocketAddress(target, port));
                    channels.add(ch);
                    threads.add(new Thread(() -> sendUdp(index, ch, start, end), "udp-" + i));
                } else {
                    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.INET6);
                    ch.bind(new InetSocketAddress(sources.get(i), 0));
                    ch.connect(new InetSocketAddress(target, port));
                    channels.add(ch);
                    threads.add(new Thread(() -> sendTcp(index, ch), "tcp-" + i));
                }
            }
            threads.forEach(Thread::start);
            Thread timeline = udp ? startTimeline(start, end) : null;
            sleepUntil(start + (long) (warmupSeconds * 1e9));
            Snapshot windowStart = snapshot();
            sleepUntil(end);
            Snapshot windowEnd = snapshot();
            stop = true;
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(60));
            }
            // Talos keeps its connection open: let the receiver catch up before closing, so that the
            // count checks what it does with a live stream (closing early is a separate question)
            Snapshot drained = closeEarly ? null : awaitDrain(sent());
            for (AutoCloseable ch : channels) {
                if (ch instanceof SocketChannel sc && sc.isOpen()) {
                    try {
                        sc.shutdownOutput();
                    } catch (IOException e) {
                        // closed by the receiver
                    }
                }
                ch.close();
            }
            if (drained == null) {
                drained = awaitDrain(sent());
            }
            if (timeline != null) {
                timeline.interrupt();
                timeline.join();
            }
            return report(before, windowStart, windowEnd, drained);
        }

        /**
         * UDP: once a second, the kernel's receive-buffer drops of the target socket and the
         * generator's worst lag in that second; printed for the seconds that had either.
         */
        private Thread startTimeline(long start, long end) {
            Thread t = new Thread(() -> {
                long previous = ProcUdp6.drops(target, port);
                StringBuilder out = new StringBuilder();
                try {
                    for (int second = 1; ; second++) {
                        sleepUntil(start + second * 1_000_000_000L);
                        long drops = ProcUdp6.drops(target, port);
                        long lag = secondLagNanos.getAndSet(0);
                        if (drops != previous || lag > 20_000_000L) {
                            out.append(String.format(Locale.ROOT, " s%d:%d/%.0fms", second, drops - previous, lag / 1e6));
                        }
                        previous = drops;
                        if (start + second * 1_000_000_000L > end + 3_000_000_000L) {
                            break;
                        }
                    }
                } catch (InterruptedException e) {
                    // the run is over
                }
                System.out.println("kernel drops / generator's worst lag, per second from the start (seconds without either left out):"
                        + (out.length() == 0 ? " none" : out));
            }, "timeline");
            t.setDaemon(true);
            t.start();
            return t;
        }

        private void sendTcp(int index, SocketChannel ch) {
            ByteBuffer buf = Message.batch(batch, true);
            int stride = Message.LENGTH + 1;
            long n = 0;
            try {
                while (!stop) {
                    for (int i = 0; i < batch; i++) {
                        Message.stamp(buf, i * stride, n + i);
                    }
                    buf.clear();
                    while (buf.hasRemaining()) {
                        ch.write(buf);
                    }
                    n += batch;
                    sentBy[index].set(n);
                }
            } catch (IOException e) {
                System.out.println("tcp-" + index + ": " + e);
            }
        }

        /** Paced: every ~millisecond, sends what is due by then (catching up after a pause), one message per datagram. */
        private void sendUdp(int index, DatagramChannel ch, long start, long end) {
            ByteBuffer buf = Message.batch(1, false);
            double perNano = (double) rate / sources.size() / 1e9;
            long n = 0;
            try {
                LockSupport.parkNanos(start - System.nanoTime());
                while (true) {
                    long now = System.nanoTime();
                    long due = (long) ((Math.min(now, end) - start) * perNano);
                    if (due > n) {
                        long lag = (long) ((due - n) / perNano);
                        maxLagNanos.accumulateAndGet(lag, Math::max);
                        secondLagNanos.accumulateAndGet(lag, Math::max);
                    }
                    while (n < due) {
                        Message.stamp(buf, 0, n);
                        buf.clear();
                        ch.write(buf);
                        n++;
                        if ((n & 63) == 0) {
                            sentBy[index].set(n);
                        }
                    }
                    sentBy[index].set(n);
                    if (now >= end || stop) {
                        return;
                    }
                    LockSupport.parkNanos(1_000_000);
                }
            } catch (IOException e) {
                System.out.println("udp-" + index + ": " + e);
            }
        }

        private long sent() {
            long s = 0;
            for (AtomicLong a : sentBy) {
                s += a.get();
            }
            return s;
        }

        /** Waits until the receiver has accounted for every message (written or dropped), or stops making progress. */
        private Snapshot awaitDrain(long sent) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            double last = -1;
            long lastChange = System.nanoTime();
            Snapshot s = snapshot();
            while (System.nanoTime() < deadline) {
                double accounted = s.metrics.getOrDefault(metric("written"), 0.0) + droppedInApp(s) + s.kernelDrops;
                if (accounted >= sent) {
                    break;
                }
                if (accounted != last) {
                    last = accounted;
                    lastChange = System.nanoTime();
                } else if (System.nanoTime() - lastChange > TimeUnit.SECONDS.toNanos(udp ? 3 : 5)) {
                    break;
                }
                Thread.sleep(250);
                s = snapshot();
            }
            return s;
        }

        private String metric(String what) {
            return prefix + "_" + what + "_total{transport=\"" + transport + "\"}";
        }

        /** Drops the receiver counted itself, by reason; a receive-buffer reason (read from /proc by the server) is left out: the driver reads /proc itself. */
        private Map<String, Double> dropsByReason(Snapshot s) {
            Map<String, Double> out = new TreeMap<>();
            String name = prefix + "_dropped_total{";
            Pattern reason = Pattern.compile("reason=\"([^\"]*)\"");
            s.metrics.forEach((k, v) -> {
                if (k.startsWith(name) && k.contains("transport=\"" + transport + "\"")) {
                    Matcher m = reason.matcher(k);
                    String r = m.find() ? m.group(1) : "?";
                    if (!r.equals("receive-buffer")) {
                        out.merge(r, v, Double::sum);
                    }
                }
            });
            return out;
        }

        private double droppedInApp(Snapshot s) {
            return dropsByReason(s).values().stream().mapToDouble(Double::doubleValue).sum();
        }

        private int report(Snapshot before, Snapshot a, Snapshot b, Snapshot end) {
            double seconds = (b.nanos - a.nanos) / 1e9;
            double warmSeconds = (a.nanos - before.nanos) / 1e9;
            String written = metric("written");
            double writtenWindow = b.metrics.getOrDefault(written, 0.0) - a.metrics.getOrDefault(written, 0.0);
            double writtenWarm = a.metrics.getOrDefault(written, 0.0) - before.metrics.getOrDefault(written, 0.0);
            long sentWindow = b.sent - a.sent;
            long sentTotal = end.sent;
            double writtenTotal = end.metrics.getOrDefault(written, 0.0) - before.metrics.getOrDefault(written, 0.0);
            double receivedTotal = end.metrics.getOrDefault(metric("received"), 0.0) - before.metrics.getOrDefault(metric("received"), 0.0);
            Map<String, Double> dropsBefore = dropsByReason(before);
            Map<String, Double> dropsA = dropsByReason(a);
            Map<String, Double> dropsB = dropsByReason(b);
            Map<String, Double> dropsEnd = dropsByReason(end);
            Map<String, Long> dropsRun = new TreeMap<>();
            Map<String, Long> dropsWindow = new TreeMap<>();
            dropsEnd.forEach((r, v) -> dropsRun.put(r, Math.round(v - dropsBefore.getOrDefault(r, 0.0))));
            dropsB.forEach((r, v) -> dropsWindow.put(r, Math.round(v - dropsA.getOrDefault(r, 0.0))));
            long kernelRun = end.kernelDrops - before.kernelDrops;
            long kernelWindow = b.kernelDrops - a.kernelDrops;
            long appDropsRun = dropsRun.values().stream().mapToLong(Long::longValue).sum();
            long appDropsWindow = dropsWindow.values().stream().mapToLong(Long::longValue).sum();
            long unaccounted = sentTotal - Math.round(writtenTotal) - appDropsRun - kernelRun;
            double cpuTicksPerSecond = clockTicks;
            double targetCores = a.targetTicks < 0 || b.targetTicks < 0 ? -1 : (b.targetTicks - a.targetTicks) / cpuTicksPerSecond / seconds;
            double sinkCores = a.sinkTicks < 0 || b.sinkTicks < 0 ? -1 : (b.sinkTicks - a.sinkTicks) / cpuTicksPerSecond / seconds;
            double selfCores = a.selfCpuNanos < 0 ? -1 : (b.selfCpuNanos - a.selfCpuNanos) / 1e9 / seconds;
            double hostCores = (b.hostBusyTicks - a.hostBusyTicks) / cpuTicksPerSecond / seconds;
            double stealCores = (b.hostStealTicks - a.hostStealTicks) / cpuTicksPerSecond / seconds;
            double targetSysCores = a.targetSysTicks < 0 || b.targetSysTicks < 0 ? -1 : (b.targetSysTicks - a.targetSysTicks) / cpuTicksPerSecond / seconds;
            Map<String, Double> threadCores = new LinkedHashMap<>();
            b.targetThreads.entrySet().stream()
                    .map(e -> Map.entry(e.getKey(), (e.getValue() - a.targetThreads.getOrDefault(e.getKey(), 0L)) / cpuTicksPerSecond / seconds))
                    .filter(e -> e.getValue() >= 0.01)
                    .sorted((x, y) -> Double.compare(y.getValue(), x.getValue()))
                    .forEach(e -> threadCores.put(e.getKey(), e.getValue()));
            double rateWritten = writtenWindow / seconds;
            double usPerLine = targetCores < 0 || writtenWindow == 0 ? -1 : targetCores * seconds * 1e6 / writtenWindow;
            System.out.printf(Locale.ROOT, "warm-up: %.1f s, %,d sent, %,.0f written (%,.0f lines/s)%n", warmSeconds, a.sent - before.sent,
                    writtenWarm, writtenWarm / warmSeconds);
            System.out.printf(Locale.ROOT, "measured: %.2f s, %,d sent (%,.0f msg/s), %,.0f written = %,.0f lines/s; drops %s, kernel %d%n",
                    seconds, sentWindow, sentWindow / seconds, writtenWindow, rateWritten, dropsWindow, kernelWindow);
            System.out.printf(Locale.ROOT, "cpu over the window (cores): receiver %.2f (%.2f us/line, kernel part %.2f cores), sink %.2f, generator %.2f,"
                            + " whole machine busy %.2f, steal %.2f%n",
                    targetCores, usPerLine, targetSysCores, sinkCores, selfCores, hostCores, stealCores);
            StringBuilder byThread = new StringBuilder();
            threadCores.forEach((name, cores) -> byThread.append(String.format(Locale.ROOT, " %s %.2f", name, cores)));
            System.out.println("receiver threads (cores, by name with numbers stripped, >= 0.01):" + byThread);
            System.out.printf(Locale.ROOT, "whole run: %,d sent, %,.0f received, %,.0f written, drops %s, kernel %d, unaccounted %d%s%n",
                    sentTotal, receivedTotal, writtenTotal, dropsRun, kernelRun, unaccounted,
                    udp ? String.format(Locale.ROOT, "; generator's worst lag %.1f ms", maxLagNanos.get() / 1e6) : "");
            System.out.printf(Locale.ROOT, "RESULT mode=%s status=done seconds=%.3f lines_per_s=%.0f sent_per_s=%.0f written=%.0f sent=%d"
                            + " receiver_cores=%.3f receiver_sys_cores=%.3f receiver_us_per_line=%.3f sink_cores=%.3f generator_cores=%.3f host_busy_cores=%.3f steal_cores=%.3f"
                            + " window_drops=%d window_kernel_drops=%d run_sent=%d run_written=%.0f run_drops=%d run_kernel_drops=%d run_drop_reasons=%s"
                            + " unaccounted=%d max_lag_ms=%.1f%n",
                    transport, seconds, rateWritten, sentWindow / seconds, writtenWindow, sentWindow, targetCores, targetSysCores, usPerLine, sinkCores, selfCores,
                    hostCores, stealCores, appDropsWindow, kernelWindow, sentTotal, writtenTotal, appDropsRun, kernelRun,
                    dropsRun.isEmpty() ? "-" : dropsRun.toString().replace(" ", "").replace("{", "").replace("}", ""),
                    unaccounted, udp ? maxLagNanos.get() / 1e6 : 0.0);
            return unaccounted == 0 ? 0 : 1;
        }

        private Snapshot snapshot() {
            long t0 = System.nanoTime();
            Map<String, Double> metrics = scrape(metricsUrl);
            long t1 = System.nanoTime();
            long[] host = hostTicks();
            return new Snapshot(t0 + (t1 - t0) / 2, metrics, processTicks(targetPid), processSysTicks(targetPid), threadTicks(targetPid),
                    processTicks(sinkPid), selfCpuNanos(), host[0], host[1], sent(), udp ? ProcUdp6.drops(target, port) : 0);
        }
    }

    /** Prometheus text: "name{labels}" -> value; empty map when the endpoint does not answer. */
    static Map<String, Double> scrape(URI url) {
        Map<String, Double> out = new LinkedHashMap<>();
        try {
            HttpURLConnection c = (HttpURLConnection) url.toURL().openConnection();
            c.setConnectTimeout(5_000);
            c.setReadTimeout(10_000);
            String body;
            try (InputStream in = c.getInputStream()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            for (String line : body.split("\n")) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int space = line.lastIndexOf(' ');
                if (space > 0) {
                    try {
                        out.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
                    } catch (NumberFormatException e) {
                        // not a sample line
                    }
                }
            }
        } catch (IOException e) {
            System.out.println("metrics from " + url + " unavailable: " + e);
        }
        return out;
    }

    /** utime + stime of a process in clock ticks, or -1. */
    static long processTicks(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** stime of a process in clock ticks, or -1. */
    static long processSysTicks(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[12]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** utime + stime of a process's threads in clock ticks, summed by thread name with digits and dashes at the end stripped. */
    static Map<String, Long> threadTicks(long pid) {
        Map<String, Long> out = new TreeMap<>();
        if (pid <= 0) {
            return out;
        }
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[-#0-9 ]+$", "");
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    out.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            return out;
        }
        return out;
    }

    /** Busy (everything but idle and iowait) and steal ticks of all CPUs together, from /proc/stat. */
    static long[] hostTicks() {
        try {
            String first = Files.readAllLines(Path.of("/proc/stat")).get(0);
            String[] f = first.trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i <= 8 && i < f.length; i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
            }
            long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
            return new long[] {busy - steal, steal};
        } catch (IOException | RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    static long selfCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** Kernel receive-buffer drops of the UDP socket bound to an address and port: the drops column of /proc/net/udp6. */
    static final class ProcUdp6 {
        static long drops(InetAddress address, int port) {
            byte[] b = address.getAddress();
            StringBuilder local = new StringBuilder();
            for (int word = 0; word < 16; word += 4) {
                for (int i = 0; i < 4; i++) {
                    int index = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? word + 3 - i : word + i;
                    local.append(String.format(Locale.ROOT, "%02X", b[index] & 0xff));
                }
            }
            local.append(String.format(Locale.ROOT, ":%04X", port));
            long drops = 0;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/net/udp6"))) {
                    String[] f = line.trim().split("\\s+");
                    if (f.length > 12 && f[1].equals(local.toString())) {
                        drops += Long.parseLong(f[12]);
                    }
                }
            } catch (IOException | RuntimeException e) {
                return 0;
            }
            return drops;
        }
    }

    private static void sleepUntil(long nanos) throws InterruptedException {
        long left;
        while ((left = nanos - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(Math.min(left, 100_000_000));
        }
    }

    // ------------------------------------------------------------------------------------------
    // rawcopy: the ceiling

    /**
     * Receives like the server (reactor-netty, the same socket options, the same event-loop
     * defaults) and writes what it receives through the server's own {@link LineWriter} (its
     * output opened by {@link LineOutputs}, as the server opens it), with the same TCP back-pressure
     * ({@code concatMap} on {@code submit}) and the same UDP refusal ({@code offer}). The only thing
     * it leaves out is the work under test: no JSON check, no annotation. TCP reads are cut at their
     * last newline (a partial line waits for the next read) so that lines of different connections
     * never interleave; UDP datagrams get a newline.
     */
    private static int rawCopy(String[] args) throws IOException, InterruptedException {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("listen", "");
        d.put("port", "4001");
        d.put("output", "stdout");
        d.put("metrics-port", "");
        d.put("output-buffer-bytes", Long.toString(16L * 1024 * 1024)); // the server's default, 16MB (Spring's DataSize: MiB)
        d.put("udp-receive-buffer-bytes", Long.toString(8L * 1024 * 1024)); // the server's default, 8MB
        d.put("half-closure", "false"); // for experiments: Netty's ALLOW_HALF_CLOSURE on accepted connections (the server leaves it off)
        Options o = new Options(d, args);
        InetAddress listen = o.address("listen");
        int port = (int) o.number("port", 1, 65535);
        int metricsPort = (int) o.number("metrics-port", 1, 65535);
        LineOutputs outputs = new LineOutputs(new SimpleMeterRegistry());
        LineWriter writer = outputs.writer(o.text("output"), o.number("output-buffer-bytes", 1, Long.MAX_VALUE));
        Counters tcp = new Counters();
        Counters udp = new Counters();
        LongAdder udpOverload = new LongAdder();

        DisposableServer tcpServer = TcpServer.create()
                .host(listen.getHostAddress())
                .port(port)
                .option(EpollChannelOption.IP_FREEBIND, true)
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(512, 8192, 65536))
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, Boolean.parseBoolean(o.text("half-closure")))
                .handle((in, out) -> {
                    RawTcpConnection conn = new RawTcpConnection(tcp);
                    return in.receive()
                            .<LineChunk>handle((buf, sink) -> {
                                LineChunk chunk = conn.copy(buf);
                                if (chunk != null) {
                                    sink.next(chunk);
                                }
                            })
                            .concatMap(writer::submit, 1)
                            .onErrorResume(e -> Mono.empty())
                            .then();
                })
                .bindNow(Duration.ofSeconds(10));
        int udpBuffer = (int) o.number("udp-receive-buffer-bytes", 65536, Integer.MAX_VALUE);
        Connection udpServer = UdpServer.create()
                .host(listen.getHostAddress())
                .port(port)
                .option(ChannelOption.SO_RCVBUF, udpBuffer)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(65_528))
                .option(EpollChannelOption.IP_FREEBIND, true)
                .handle((in, out) -> in.receiveObject().doOnNext(message -> {
                    if (message instanceof DatagramPacket packet) {
                        ByteBuf content = packet.content();
                        int length = content.readableBytes();
                        udp.received.increment();
                        byte[] line = new byte[length + 1];
                        content.getBytes(content.readerIndex(), line, 0, length);
                        line[length] = '\n';
                        if (!writer.offer(new LineChunk(line, line.length, 1, udp))) {
                            udpOverload.increment();
                        }
                    }
                }).then())
                .bindNow(Duration.ofSeconds(10));
        int granted = udpServer.channel().config().getOption(ChannelOption.SO_RCVBUF) / 2;

        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), metricsPort), 0);
        http.createContext("/metrics", exchange -> {
            String body = String.join("\n",
                    "rawcopy_logs_received_total{transport=\"tcp\"} " + tcp.received.sum(),
                    "rawcopy_logs_written_total{transport=\"tcp\"} " + tcp.written.sum(),
                    "rawcopy_logs_dropped_total{transport=\"tcp\",reason=\"output-error\"} " + tcp.failed.sum(),
                    "rawcopy_logs_received_total{transport=\"udp\"} " + udp.received.sum(),
                    "rawcopy_logs_written_total{transport=\"udp\"} " + udp.written.sum(),
                    "rawcopy_logs_dropped_total{transport=\"udp\",reason=\"overload\"} " + udpOverload.sum(),
                    "rawcopy_logs_dropped_total{transport=\"udp\",reason=\"output-error\"} " + udp.failed.sum(),
                    "rawcopy_output_queued_bytes " + writer.queuedBytes(), "");
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        http.start();
        System.err.printf(Locale.ROOT, "rawcopy: TCP and UDP on [%s]:%d (UDP receive buffer %d bytes), output %s, counters on http://127.0.0.1:%d/metrics%n",
                listen.getHostAddress(), port, granted, writer.name(), metricsPort);

        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            http.stop(0);
            tcpServer.disposeNow(Duration.ofSeconds(5));
            udpServer.disposeNow(Duration.ofSeconds(5));
            outputs.stop();
            done.countDown();
        }, "rawcopy-stop"));
        done.await();
        return 0;
    }

    /** Lines received and written by one transport of the copier. */
    static final class Counters implements LineChunk.Stream {
        final LongAdder received = new LongAdder();
        final LongAdder written = new LongAdder();
        final LongAdder failed = new LongAdder();

        @Override
        public void written(int lines, int bytes) {
            written.add(lines);
        }

        @Override
        public void failed(int lines) {
            failed.add(lines);
        }
    }

    /** One copier connection: counts the newlines of a read and hands over everything up to the last one. */
    static final class RawTcpConnection {
        private final Counters counters;
        private byte[] pending = new byte[0];
        private int pendingLength;

        RawTcpConnection(Counters counters) {
            this.counters = counters;
        }

        LineChunk copy(ByteBuf buf) {
            int start = buf.readerIndex();
            int end = buf.writerIndex();
            int lines = 0;
            int last = -1;
            int i = start;
            while (i < end) {
                int lf = buf.forEachByte(i, end - i, ByteProcessor.FIND_LF);
                if (lf < 0) {
                    break;
                }
                lines++;
                last = lf;
                i = lf + 1;
            }
            if (lines == 0) {
                appendPending(buf, start, end - start);
                return null;
            }
            counters.received.add(lines);
            int head = last + 1 - start;
            byte[] bytes = new byte[pendingLength + head];
            System.arraycopy(pending, 0, bytes, 0, pendingLength);
            buf.getBytes(start, bytes, pendingLength, head);
            pendingLength = 0;
            appendPending(buf, last + 1, end - last - 1);
            buf.skipBytes(end - start);
            return new LineChunk(bytes, bytes.length, lines, counters);
        }

        private void appendPending(ByteBuf buf, int index, int length) {
            if (length == 0) {
                return;
            }
            if (pending.length < pendingLength + length) {
                pending = Arrays.copyOf(pending, Math.max(256, 2 * (pendingLength + length)));
            }
            buf.getBytes(index, pending, pendingLength, length);
            pendingLength += length;
        }
    }

    // ------------------------------------------------------------------------------------------
    // sink: the cheap consumer of the output pipe

    /**
     * Reads standard input to its end into one direct buffer (no copy into the Java heap) and,
     * about once a second, writes the byte count and the last complete line seen to
     * {@code --sample-file} (replaced atomically), for the script to check the output's shape.
     */
    private static int sink(String[] args) throws IOException {
        Options o = new Options(Map.of("sample-file", "", "max-bytes-per-second", "0"), args);
        Path sample = Path.of(o.text("sample-file"));
        // for experiments only: a slow consumer, so that the receiver's output queue fills up
        long limit = o.number("max-bytes-per-second", 0, Long.MAX_VALUE);
        long started = 0; // the first read: the receiver may take a while to start
        Path tmp = sample.resolveSibling(sample.getFileName() + ".tmp");
        long bytes = 0;
        long lastSample = 0;
        String last = "";
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 18);
        try (FileChannel in = new FileInputStream(FileDescriptor.in).getChannel()) {
            while (true) {
                buf.clear();
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                bytes += n;
                if (limit > 0) {
                    if (started == 0) {
                        started = System.nanoTime();
                    }
                    long dueNanos = started + (long) (bytes * 1e9 / limit);
                    LockSupport.parkNanos(dueNanos - System.nanoTime());
                }
                long now = System.nanoTime();
                if (now - lastSample > 1_000_000_000L) {
                    String line = lastLine(buf, n);
                    if (line != null) {
                        last = line;
                        lastSample = now;
                        writeSample(tmp, sample, bytes, last, false);
                    }
                }
            }
        }
        writeSample(tmp, sample, bytes, last, true);
        return 0;
    }

    private static String lastLine(ByteBuffer buf, int n) {
        int end = n - 1;
        while (end >= 0 && buf.get(end) != '\n') {
            end--;
        }
        if (end < 0) {
            return null;
        }
        int begin = end - 1;
        while (begin >= 0 && buf.get(begin) != '\n') {
            begin--;
        }
        if (begin < 0) {
            return null; // the line may have started in an earlier read
        }
        byte[] line = new byte[end - begin - 1];
        buf.get(begin + 1, line);
        return new String(line, StandardCharsets.UTF_8);
    }

    private static void writeSample(Path tmp, Path sample, long bytes, String line, boolean eof) throws IOException {
        Files.writeString(tmp, "bytes=" + bytes + (eof ? " eof" : "") + "\n" + line + "\n");
        Files.move(tmp, sample, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
