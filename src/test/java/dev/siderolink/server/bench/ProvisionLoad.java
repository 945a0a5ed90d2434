package dev.siderolink.server.bench;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.siderolink.api.link.ProvisionRequest;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.api.link.ProvisionServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Closed-loop load generator for {@code sidero.link.ProvisionService/Provision}: keeps a fixed
 * number of calls in flight over a few plaintext HTTP/2 channels, runs a warm-up phase, then a
 * measured phase bounded by time and by call count, and prints calls/s and latency percentiles.
 * Only loopback targets are accepted. Every loop is bounded; a watchdog ends the process if the
 * run overstays its budget.
 *
 * <p>Scenarios (first argument, or {@code --scenario=}):
 *
 * <ul>
 *   <li>{@code baseline}: a wrong join token; the server answers PERMISSION_DENIED before any store
 *       work, so this is the transport and server ceiling of the machine;
 *   <li>{@code first-provision}: a new UUID per call with the right token: the server creates a
 *       binding file and allocates an address;
 *   <li>{@code reprovision}: a fixed set of UUIDs provisioned once (untimed), then cycled with a
 *       new public key per call: the server keeps the address and rewrites the file.
 * </ul>
 *
 * <p>The last line of output is machine-readable: {@code RESULT key=value ...}. Exit status 0
 * when every measured call had the expected outcome, 1 when some did not, 2 on bad arguments,
 * 3 when the watchdog fired.
 */
public final class ProvisionLoad {

    enum Scenario {
        BASELINE("baseline", "PERMISSION_DENIED"),
        FIRST_PROVISION("first-provision", "OK"),
        REPROVISION("reprovision", "OK");

        final String label;
        /** The outcome every call of this scenario should have; anything else counts as an error. */
        final String expected;

        Scenario(String label, String expected) {
            this.label = label;
            this.expected = expected;
        }

        static Scenario parse(String text) {
            for (Scenario s : values()) {
                if (s.label.equals(text)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown scenario '" + text + "' (baseline, first-provision, reprovision)");
        }
    }

    /** Outcome labels that are not gRPC status codes. */
    static final String INVALID_RESPONSE = "INVALID_RESPONSE";
    static final String DUPLICATE_ADDRESS = "DUPLICATE_ADDRESS";
    static final String ADDRESS_CHANGED = "ADDRESS_CHANGED";
    static final String UNEXPECTED_OK = "UNEXPECTED_OK";

    /** Addresses remembered for the duplicate check in first-provision; beyond this, unchecked. */
    private static final int MAX_TRACKED_ADDRESSES = 1_000_000;

    record Options(
            InetAddress host,
            int port,
            Scenario scenario,
            String token,
            int concurrency,
            int channels,
            double warmupSeconds,
            double durationSeconds,
            long maxCalls,
            int uuidCount,
            long deadlineMillis,
            long maxErrors,
            long serverPid,
            int clockTicks) {

        static Options parse(String[] args) throws UnknownHostException {
            Map<String, String> values = new LinkedHashMap<>();
            values.put("host", "127.0.0.1");
            values.put("port", "8081");
            values.put("scenario", null);
            values.put("token", "");
            values.put("concurrency", "64");
            values.put("channels", "4");
            values.put("warmup-seconds", "5");
            values.put("duration-seconds", "15");
            values.put("max-calls", "2000000");
            values.put("uuids", "1000");
            values.put("deadline-ms", "10000");
            values.put("max-errors", "10000");
            values.put("server-pid", "0");
            values.put("clk-tck", "100");
            for (String arg : args) {
                if (!arg.startsWith("--")) {
                    values.put("scenario", arg);
                    continue;
                }
                int eq = arg.indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException("expected --name=value, got " + arg);
                }
                String name = arg.substring(2, eq);
                if (!values.containsKey(name)) {
                    throw new IllegalArgumentException("unknown option --" + name + "; known: " + values.keySet());
                }
                values.put(name, arg.substring(eq + 1));
            }
            if (values.get("scenario") == null) {
                throw new IllegalArgumentException("no scenario given (baseline, first-provision, reprovision)");
            }
            InetAddress host = InetAddress.getByName(values.get("host"));
            if (!host.isLoopbackAddress()) {
                throw new IllegalArgumentException("refusing to send load to " + host + ": only loopback targets are allowed");
            }
            Options o = new Options(
                    host,
                    Integer.parseInt(values.get("port")),
                    Scenario.parse(values.get("scenario")),
                    values.get("token"),
                    Integer.parseInt(values.get("concurrency")),
                    Integer.parseInt(values.get("channels")),
                    Double.parseDouble(values.get("warmup-seconds")),
                    Double.parseDouble(values.get("duration-seconds")),
                    Long.parseLong(values.get("max-calls")),
                    Integer.parseInt(values.get("uuids")),
                    Long.parseLong(values.get("deadline-ms")),
                    Long.parseLong(values.get("max-errors")),
                    Long.parseLong(values.get("server-pid")),
                    Integer.parseInt(values.get("clk-tck")));
            o.check();
            return o;
        }

        private void check() {
            require(port > 0 && port < 65536, "port out of range");
            require(concurrency >= 1 && concurrency <= 10_000, "concurrency must be 1..10000");
            require(channels >= 1 && channels <= 64, "channels must be 1..64");
            require(warmupSeconds >= 0 && warmupSeconds <= 600, "warmup-seconds must be 0..600");
            require(durationSeconds > 0 && durationSeconds <= 3600, "duration-seconds must be >0 and <=3600");
            require(maxCalls >= 1, "max-calls must be >= 1");
            require(uuidCount >= 1 && uuidCount <= 1_000_000, "uuids must be 1..1000000");
            require(deadlineMillis >= 1 && deadlineMillis <= 120_000, "deadline-ms must be 1..120000");
            require(maxErrors >= 1, "max-errors must be >= 1");
            require(serverPid >= 0, "server-pid must be >= 0 (0: do not measure the server's CPU)");
            require(clockTicks >= 1, "clk-tck must be >= 1");
            require(token != null && !token.isEmpty(), "--token is required (the server's join token; baseline sends a wrong one)");
        }

        /** Upper bound of the whole run, for the watchdog. */
        long budgetMillis() {
            double setupSeconds = scenario == Scenario.REPROVISION ? 120 : 0;
            return (long) ((setupSeconds + warmupSeconds + durationSeconds) * 1000) + 3 * deadlineMillis + 30_000;
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** What calls completing while a phase is current are counted in. */
    static final class Phase {
        final String name;
        final boolean measured;
        final Recorder latencyMicros = new Recorder(3);
        final LongAdder expected = new LongAdder();
        final LongAdder unexpected = new LongAdder();
        final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
        volatile long startNanos;
        volatile long endNanos;
        /** CPU milliseconds used at start and end of the phase; -1 when unknown. */
        long clientCpuStart = -1;
        long clientCpuEnd = -1;
        long serverCpuStart = -1;
        long serverCpuEnd = -1;
        /** The server's kernel-mode share of the above. */
        long serverSysStart = -1;
        long serverSysEnd = -1;

        Phase(String name, boolean measured) {
            this.name = name;
            this.measured = measured;
        }

        long completed() {
            return expected.sum() + unexpected.sum();
        }

        double seconds() {
            return (endNanos - startNanos) / 1e9;
        }
    }

    private final Options options;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<ProvisionServiceGrpc.ProvisionServiceFutureStub> stubs = new ArrayList<>();
    private final AtomicInteger nextStub = new AtomicInteger();
    private final Semaphore inFlight;
    private final String wrongToken;
    /** Node UUID to the address it was given: setup results for reprovision, duplicates for first-provision. */
    private final Map<String, String> addressByUuid = new ConcurrentHashMap<>();
    private final Map<String, String> uuidByAddress = new ConcurrentHashMap<>();
    private volatile Phase current;
    /** Every completed call of the run, setup and warm-up included (for CPU-per-call figures). */
    private final LongAdder allCompleted = new LongAdder();

    ProvisionLoad(Options options) {
        this.options = options;
        this.inFlight = new Semaphore(options.concurrency());
        this.wrongToken = "not-" + options.token();
        for (int i = 0; i < options.channels(); i++) {
            ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(options.host(), options.port()))
                    .usePlaintext()
                    // callbacks only record a number and release a permit: run them on the event loop
                    .directExecutor()
                    .build();
            channels.add(channel);
            stubs.add(ProvisionServiceGrpc.newFutureStub(channel));
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException | UnknownHostException e) {
            System.err.println("ProvisionLoad: " + e.getMessage());
            System.err.println("usage: ProvisionLoad <baseline|first-provision|reprovision> --token=T [--host=127.0.0.1] [--port=8081]"
                    + " [--concurrency=64] [--channels=4] [--warmup-seconds=5] [--duration-seconds=15] [--max-calls=2000000]"
                    + " [--uuids=1000] [--deadline-ms=10000] [--max-errors=10000] [--server-pid=0] [--clk-tck=100]");
            System.exit(2);
            return;
        }
        BenchProcess.startWatchdog("ProvisionLoad", options.budgetMillis());
        ProvisionLoad load = new ProvisionLoad(options);
        int status;
        try {
            status = load.run();
        } finally {
            load.close();
        }
        System.exit(status);
    }
    int run() throws InterruptedException {
        Options o = options;
        System.out.printf(Locale.ROOT, "scenario %s: %d in flight over %d channels to %s:%d, warm-up %.1f s, measure %.1f s (at most %d calls)%n",
                o.scenario().label, o.concurrency(), o.channels(), o.host().getHostAddress(), o.port(),
                o.warmupSeconds(), o.durationSeconds(), o.maxCalls());

        List<String> fleet = List.of();
        if (o.scenario() == Scenario.REPROVISION) {
            fleet = setUpFleet();
            if (fleet == null) {
                System.out.println("RESULT scenario=" + o.scenario().label + " status=setup-failed");
                return 1;
            }
        }
        List<String> uuids = fleet;
        int[] cursor = {0};
        // Requests are built on this thread only, so the cursor needs no synchronisation.
        Supplier<ProvisionRequest> requests = switch (o.scenario()) {
            case BASELINE -> () -> request(randomUuid(), wrongToken);
            case FIRST_PROVISION -> () -> request(randomUuid(), o.token());
            case REPROVISION -> () -> {
                String uuid = uuids.get(cursor[0]);
                cursor[0] = (cursor[0] + 1) % uuids.size();
                return request(uuid, o.token());
            };
        };

        Phase warmup = new Phase("warm-up", false);
        Phase measure = new Phase("measure", true);
        drive(warmup, requests, nanos(o.warmupSeconds()), Long.MAX_VALUE);
        // straight on, without draining: the measured phase starts under steady load
        drive(measure, requests, nanos(o.durationSeconds()), o.maxCalls());
        current = new Phase("drain", false);
        boolean drained = drain();
        report(warmup);
        return report(measure) && drained ? 0 : 1;
    }

    /** Provisions each UUID of the fleet once, untimed, and remembers its address. */
    private List<String> setUpFleet() throws InterruptedException {
        List<String> fleet = new ArrayList<>(options.uuidCount());
        for (int i = 0; i < options.uuidCount(); i++) {
            fleet.add(randomUuid());
        }
        Phase setup = new Phase("setup", false);
        current = setup;
        setup.startNanos = System.nanoTime();
        long deadline = setup.startNanos + TimeUnit.SECONDS.toNanos(120);
        for (String uuid : fleet) {
            if (!acquireBefore(deadline)) {
                break;
            }
            send(request(uuid, options.token()));
        }
        boolean drained = drain();
        setup.endNanos = System.nanoTime();
        System.out.printf(Locale.ROOT, "setup: provisioned %d of %d UUIDs in %.1f s (untimed)%n",
                setup.expected.sum(), fleet.size(), setup.seconds());
        if (!drained || setup.expected.sum() != fleet.size()) {
            System.out.println("setup failed: " + new TreeMap<>(snapshot(setup.outcomes)));
            return null;
        }
        return fleet;
    }

    /** Issues calls while the phase lasts: at most {@code maxCalls}, for at most {@code durationNanos}. */
    private void drive(Phase phase, Supplier<ProvisionRequest> requests, long durationNanos, long maxCalls)
            throws InterruptedException {
        phase.clientCpuStart = BenchProcess.ownCpuMillis();
        phase.serverCpuStart = BenchProcess.cpuMillis(options.serverPid(), false, options.clockTicks());
        phase.serverSysStart = BenchProcess.cpuMillis(options.serverPid(), true, options.clockTicks());
        phase.startNanos = System.nanoTime();
        current = phase;
        long end = phase.startNanos + durationNanos;
        long issued = 0;
        while (issued < maxCalls && phase.unexpected.sum() < options.maxErrors()) {
            if (!acquireBefore(end)) {
                break;
            }
            send(requests.get());
            issued++;
        }
        phase.endNanos = System.nanoTime();
        phase.clientCpuEnd = BenchProcess.ownCpuMillis();
        phase.serverCpuEnd = BenchProcess.cpuMillis(options.serverPid(), false, options.clockTicks());
        phase.serverSysEnd = BenchProcess.cpuMillis(options.serverPid(), true, options.clockTicks());
        if (phase.unexpected.sum() >= options.maxErrors()) {
            System.out.println(phase.name + ": stopped early after " + phase.unexpected.sum() + " unexpected outcomes");
        }
    }

    /** Takes one in-flight permit, waiting at most until {@code deadlineNanos}. */
    private boolean acquireBefore(long deadlineNanos) throws InterruptedException {
        long left = deadlineNanos - System.nanoTime();
        return left > 0 && inFlight.tryAcquire(left, TimeUnit.NANOSECONDS);
    }

    /** Waits for every call in flight to finish (bounded by the call deadline). */
    private boolean drain() throws InterruptedException {
        long waitMillis = options.deadlineMillis() + 5_000;
        if (!inFlight.tryAcquire(options.concurrency(), waitMillis, TimeUnit.MILLISECONDS)) {
            System.out.println("calls still in flight after " + waitMillis + " ms");
            return false;
        }
        inFlight.release(options.concurrency());
        return true;
    }

    private void send(ProvisionRequest request) {
        long start = System.nanoTime();
        ProvisionServiceGrpc.ProvisionServiceFutureStub stub = stubs.get(Math.floorMod(nextStub.getAndIncrement(), stubs.size()));
        ListenableFuture<ProvisionResponse> future;
        try {
            future = stub.withDeadlineAfter(options.deadlineMillis(), TimeUnit.MILLISECONDS).provision(request);
        } catch (RuntimeException e) {
            complete(start, "CLIENT_" + e.getClass().getSimpleName());
            return;
        }
        Futures.addCallback(future, new FutureCallback<>() {
            @Override
            public void onSuccess(ProvisionResponse response) {
                complete(start, check(request, response));
            }

            @Override
            public void onFailure(Throwable t) {
                complete(start, Status.fromThrowable(t).getCode().name());
            }
        }, MoreExecutors.directExecutor());
    }

    private void complete(long startNanos, String outcome) {
        try {
            long micros = Math.max(1, (System.nanoTime() - startNanos) / 1_000);
            Phase phase = current;
            phase.outcomes.computeIfAbsent(outcome, k -> new LongAdder()).increment();
            if (outcome.equals(options.scenario().expected)) {
                phase.expected.increment();
                phase.latencyMicros.recordValue(micros);
            } else {
                phase.unexpected.increment();
            }
        } finally {
            allCompleted.increment();
            inFlight.release();
        }
    }

    /** The outcome label for a response: OK, or what is wrong with it. */
    private String check(ProvisionRequest request, ProvisionResponse response) {
        if (options.scenario() == Scenario.BASELINE) {
            return UNEXPECTED_OK;
        }
        String prefix = response.getNodeAddressPrefix();
        if (!prefix.endsWith("/64") || response.getServerEndpointCount() == 0
                || response.getServerEndpointList().stream().anyMatch(String::isEmpty)
                || response.getServerPublicKey().isEmpty() || response.getServerAddress().isEmpty()) {
            return INVALID_RESPONSE;
        }
        String uuid = request.getNodeUuid();
        BiFunction<String, String, String> checker = options.scenario() == Scenario.REPROVISION ? this::sameAddress : this::uniqueAddress;
        return checker.apply(uuid, prefix);
    }

    /** Reprovision: the setup remembered the address; every later call must return it again. */
    private String sameAddress(String uuid, String prefix) {
        String known = addressByUuid.putIfAbsent(uuid, prefix);
        return known == null || known.equals(prefix) ? "OK" : ADDRESS_CHANGED;
    }

    /** First provision: no two UUIDs may be given the same address. */
    private String uniqueAddress(String uuid, String prefix) {
        if (uuidByAddress.size() >= MAX_TRACKED_ADDRESSES) {
            return "OK";
        }
        String holder = uuidByAddress.putIfAbsent(prefix, uuid);
        return holder == null || holder.equals(uuid) ? "OK" : DUPLICATE_ADDRESS;
    }

    private ProvisionRequest request(String uuid, String token) {
        return ProvisionRequest.newBuilder()
                .setNodeUuid(uuid)
                .setNodePublicKey(randomPublicKey())
                .setJoinToken(token)
                .setNodeUniqueToken("")
                .setTalosVersion("v1.9.0")
                .build();
    }

    /** A random lower-case version-4 UUID string (cheaper than UUID.randomUUID's SecureRandom). */
    static String randomUuid() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long msb = (random.nextLong() & ~0xF000L) | 0x4000L;
        long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }

    /** A WireGuard public key in its text form: base64 of 32 random bytes, 44 characters. */
    static String randomPublicKey() {
        byte[] key = new byte[32];
        ThreadLocalRandom.current().nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    /** Prints a phase; true when every call had the expected outcome. */
    private boolean report(Phase phase) {
        Histogram h = phase.latencyMicros.getIntervalHistogram();
        long ok = phase.expected.sum();
        long bad = phase.unexpected.sum();
        double seconds = phase.seconds();
        double rate = seconds > 0 ? ok / seconds : 0;
        Map<String, Long> outcomes = new TreeMap<>(snapshot(phase.outcomes));
        // CPU per call over the window, counting every call that completed in it (errors too)
        long calls = phase.completed();
        long server = phase.serverCpuStart < 0 || phase.serverCpuEnd < 0 ? -1 : phase.serverCpuEnd - phase.serverCpuStart;
        long serverSys = phase.serverSysStart < 0 || phase.serverSysEnd < 0 ? -1 : phase.serverSysEnd - phase.serverSysStart;
        long client = phase.clientCpuStart < 0 || phase.clientCpuEnd < 0 ? -1 : phase.clientCpuEnd - phase.clientCpuStart;
        // what all cores could do if only this server and this generator ran: an estimate
        String cpuBound = server < 0 || client < 0 || server + client == 0 || calls == 0 ? "-"
                : String.format(Locale.ROOT, "%.0f", Runtime.getRuntime().availableProcessors() * 1000.0 * calls / (server + client));
        System.out.printf(Locale.ROOT, "%s: %d calls in %.2f s = %.0f calls/s; latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; outcomes %s%n",
                phase.name, ok, seconds, rate, ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
                ms(h.getMaxValue()), outcomes);
        if (phase.measured) {
            StringBuilder errors = new StringBuilder();
            outcomes.forEach((code, count) -> {
                if (!code.equals(options.scenario().expected)) {
                    errors.append(errors.length() == 0 ? "" : ",").append(code).append(':').append(count);
                }
            });
            System.out.printf(Locale.ROOT, "RESULT scenario=%s status=done calls=%d seconds=%.3f calls_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f"
                            + " errors=%d error_codes=%s concurrency=%d total_calls=%d"
                            + " server_cpu_us_per_call=%s server_sys_us_per_call=%s client_cpu_us_per_call=%s cpu_bound_calls_per_s=%s%n",
                    options.scenario().label, ok, seconds, rate, ms(h.getValueAtPercentile(50)), ms(h.getValueAtPercentile(99)),
                    ms(h.getMaxValue()), bad, errors.length() == 0 ? "-" : errors, options.concurrency(),
                    allCompleted.sum(), perCall(server, calls), perCall(serverSys, calls), perCall(client, calls), cpuBound);
        }
        return bad == 0;
    }

    private static String perCall(long cpuMillis, long calls) {
        return cpuMillis < 0 || calls == 0 ? "-" : String.format(Locale.ROOT, "%.0f", cpuMillis * 1000.0 / calls);
    }
    /** CPU time this JVM has used so far, or -1 when the platform does not say. */
    private static Map<String, Long> snapshot(Map<String, LongAdder> counters) {
        Map<String, Long> out = new LinkedHashMap<>();
        counters.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    private static double ms(long micros) {
        return micros / 1000.0;
    }

    private static long nanos(double seconds) {
        return (long) (seconds * 1e9);
    }

    void close() throws InterruptedException {
        for (ManagedChannel channel : channels) {
            channel.shutdown();
        }
        for (ManagedChannel channel : channels) {
            if (!channel.awaitTermination(5, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        }
    }
}
