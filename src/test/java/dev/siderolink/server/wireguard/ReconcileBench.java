package dev.siderolink.server.wireguard;

import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.testing.InMemoryResourceStore;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/**
 * Benchmark of the WireGuard peer reconciler against a real {@code wireguard-go} interface (a plain
 * main, not a test; run by {@code scripts/bench-wireguard.sh} as root).
 *
 * <p>For each size N it fills an in-memory store with N bindings and measures {@link PeerReconciler#pass()}:
 * the pass that converges an empty interface, idle passes (nothing changed), a pass after 1% of the
 * nodes rebooted with new keys, and the pass that removes them all. Every system command the
 * reconciler starts goes through a counting decorator, so each pass also reports the processes it
 * started by tool and verb. Baselines measured in the same run, on the same interface: a bare
 * {@code wg show <if> dump} of the converged interface, a no-op {@code wg set <if> fwmark 0}, and
 * the {@code wg set} calls of a converge on their own ({@link WireGuardDevice#apply} of all N
 * additions, no dump, no plan). Figures are reported as ratios against them: the machine is
 * shared and absolute times are noisy.
 *
 * <p>Creates no traffic (no peer has an endpoint). The interface is removed at the end, on failure,
 * and on Ctrl-C (shutdown hook).
 *
 * <p>Options: {@code --sizes=1000,10000}, {@code --rounds=3} (converge / remove-all / bare-apply
 * rounds per size, medians reported), {@code --idle=7} (idle passes and baseline repetitions),
 * {@code --userspace=always|auto} (auto uses the kernel module when there is one).
 */
public final class ReconcileBench {

    private static final double GOAL_SECONDS = 2.0;
    private static final int MAX_SIZE = 50_000;
    private static final int MAX_REPEAT = 50;

    private static final com.sun.management.OperatingSystemMXBean JVM =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private final SecureRandom random = new SecureRandom();
    private final Counting commands;
    private final WireGuardDevice device;
    private final InMemoryResourceStore store = new InMemoryResourceStore();
    private final PeerReconciler reconciler;
    private final Connectivity connectivity;
    private final InstallationIdentity identity;
    private final String name;
    private final int repeat;
    private final int rounds;
    private final List<Row> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final List<String> failures = new ArrayList<>();
    private String daemonRss = "?";

    private ReconcileBench(Counting commands, WireGuardDevice device, InstallationIdentity identity, String name, int repeat, int rounds) {
        this.commands = commands;
        this.device = device;
        this.identity = identity;
        this.name = name;
        this.repeat = repeat;
        this.rounds = rounds;
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT); // what the server uses
        this.connectivity = new Connectivity(store, meters);
        this.reconciler = new PeerReconciler(device, store, connectivity, Duration.ofSeconds(5), false, Clock.systemUTC(), meters);
    }

    public static void main(String[] args) throws Exception {
        if (org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            root.setLevel(ch.qos.logback.classic.Level.INFO); // logback's unconfigured default is DEBUG
        }
        List<Integer> sizes = List.of(1000, 10_000);
        int repeat = 7;
        int rounds = 3;
        WireguardProperties.Userspace userspace = WireguardProperties.Userspace.ALWAYS;
        for (String arg : args) {
            if (arg.startsWith("--sizes=")) {
                sizes = Arrays.stream(arg.substring(8).split(",")).map(String::trim).map(Integer::valueOf).toList();
            } else if (arg.startsWith("--idle=")) {
                repeat = Integer.parseInt(arg.substring(7));
            } else if (arg.startsWith("--rounds=")) {
                rounds = Integer.parseInt(arg.substring(9));
            } else if (arg.startsWith("--userspace=")) {
                userspace = WireguardProperties.Userspace.valueOf(arg.substring(12).toUpperCase(Locale.ROOT));
            } else {
                System.err.println("unknown option " + arg + " (expected --sizes=1000,10000 --idle=7 --rounds=3 --userspace=always|auto)");
                System.exit(2);
            }
        }
        if (sizes.isEmpty() || sizes.stream().anyMatch(n -> n < 100 || n > MAX_SIZE) || repeat < 3 || repeat > MAX_REPEAT
                || rounds < 1 || rounds > MAX_REPEAT) {
            System.err.println("sizes must be 100.." + MAX_SIZE + ", --idle 3.." + MAX_REPEAT + ", --rounds 1.." + MAX_REPEAT);
            System.exit(2);
        }

        String name = "slbench" + String.format("%04x", new SecureRandom().nextInt(0x10000));
        int port = freeUdpPort();
        InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
        WireguardProperties properties = new WireguardProperties(name, List.of(), port, userspace, Duration.ofSeconds(5), false);
        ProcessWgCommands processes = new ProcessWgCommands();
        Counting counting = new Counting(processes);
        WireGuardDevice device = new WireGuardDevice(counting, properties, identity, Clock.systemUTC());
        Thread cleanup = new Thread(device::close, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup); // Ctrl-C: close() is idempotent and synchronized
        int exit;
        try {
            device.ensure();
            System.out.printf("interface %s (%s, UDP port %d), %d CPU(s), sizes %s, %d rounds, %d idle passes%n",
                    name, device.mode(), port, Runtime.getRuntime().availableProcessors(), sizes, rounds, repeat);
            ReconcileBench bench = new ReconcileBench(counting, device, identity, name, repeat, rounds);
            bench.warmUp();
            for (int n : sizes) {
                bench.run(n);
            }
            bench.print();
            exit = bench.failures.isEmpty() ? 0 : 1;
        } catch (RuntimeException e) {
            System.err.println("benchmark failed: " + e);
            e.printStackTrace();
            exit = 1;
        } finally {
            device.close();
            processes.close();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException shuttingDown) {
            // already running
        }
        System.exit(exit);
    }

    /** The JIT's first compilations would otherwise land in the first measured pass. Not reported. */
    private void warmUp() {
        Map<String, Binding> bindings = bindings(500);
        for (int round = 0; round < 2; round++) {
            bindings.values().forEach(b -> store.put(b.uuid, b.storedAddress, b.key));
            reconciler.pass();
            reconciler.pass();
            bindings.values().forEach(b -> store.remove(b.uuid));
            reconciler.pass();
        }
        expectPeers(Map.of(), "after warm-up");
        commands.reset();
    }

    private void run(int n) {
        Map<String, Binding> bindings = bindings(n);
        List<Measured> converges = new ArrayList<>();
        List<Measured> removes = new ArrayList<>();
        List<Measured> applies = new ArrayList<>();
        int firstRow = rows.size();
        for (int round = 1; round <= rounds; round++) {
            String when = "N=" + n + " round " + round;
            expectPeers(Map.of(), when + " before converging");
            bindings.values().forEach(b -> store.put(b.uuid, b.storedAddress, b.key));

            // (a) converge from empty
            converges.add(measure(() -> reconciler.pass()));
            expectPeers(expected(bindings), when + " after converging");
            daemonRss = commands.daemonRss();

            if (round == rounds) { // the warmest round
                idleAndRebootWave(n, bindings);
            }

            // (d) every binding deleted
            bindings.values().forEach(b -> store.remove(b.uuid));
            removes.add(measure(() -> reconciler.pass()));
            expectPeers(Map.of(), when + " after removing all");

            // baseline: the wg set calls of a converge on their own (no dump, no plan, no metrics)
            List<PeerPlan.Change> additions = new TreeMap<>(expected(bindings)).entrySet().stream()
                    .<PeerPlan.Change>map(e -> new PeerPlan.Set(e.getKey(), e.getValue())).toList();
            applies.add(measure(() -> device.apply(additions)));
            expectPeers(expected(bindings), when + " after the bare apply");
            device.apply(additions.stream().<PeerPlan.Change>map(c -> new PeerPlan.Remove(((PeerPlan.Set) c).publicKey())).toList());
            expectPeers(Map.of(), when + " after the bare removal");
        }
        Measured converge = median(converges);
        Measured removeAll = median(removes);
        Measured applyOnly = median(applies);
        rows.add(firstRow, new Row(n, "converge from empty (median of " + rounds + ")", converge, ratio(converge, applyOnly), "× bare apply"));
        rows.add(new Row(n, "remove all (median of " + rounds + ")", removeAll, ratio(removeAll, applyOnly), "× bare apply"));
        rows.add(new Row(n, "baseline: bare apply of N (median)", applyOnly, 1.0, ""));
        notes.add(String.format(Locale.ROOT, "N=%d converge rounds %s ms, bare apply rounds %s ms; wg set argv sizes %s KiB;"
                + " wireguard-go CPU in converge %s ms (%.0f µs per peer), in bare apply %s ms; wireguard-go %s with N peers",
                n, times(converges), times(applies), converge.argvKib,
                converges.stream().map(Measured::daemonCpuMs).toList(), converge.daemonCpuMs * 1000.0 / n,
                applies.stream().map(Measured::daemonCpuMs).toList(), daemonRss));
        if (n >= 10_000) {
            notes.add(String.format(Locale.ROOT, "N=%d converge %.2f s (median): goal (< %.1f s) %s", n, converge.ms() / 1000, GOAL_SECONDS,
                    converge.ms() / 1000 < GOAL_SECONDS ? "met" : "NOT met"));
        }
    }

    /** (b) idle passes with the baselines they are compared to, and (c) a reboot wave; leaves the bindings converged. */
    private void idleAndRebootWave(int n, Map<String, Binding> bindings) {
        // baselines, on the converged interface, without the decorator
        ProcessWgCommands raw = commands.delegate;
        double dumpMs = median(repeat, () -> raw.run(List.of("wg", "show", name, "dump")));
        double setMs = median(repeat, () -> raw.run(List.of("wg", "set", name, "fwmark", "0")));
        String dumpText = raw.run(List.of("wg", "show", name, "dump")).stdout();

        List<Measured> idle = new ArrayList<>();
        for (int i = 0; i < repeat; i++) {
            Measured m = measure(() -> reconciler.pass());
            idle.add(m);
            if (!m.processes.equals(Map.of("wg show dump", 1)) || m.result != 0) {
                failures.add("N=" + n + " idle pass " + (i + 1) + " started " + m.processes + " and made " + m.result + " wg set call(s); expected one wg show dump");
            }
        }
        Measured idleMedian = median(idle);
        String steps = components(n, dumpText, bindings);

        // (c) a reboot wave: 1% of the nodes come back with new keys, same addresses
        List<Binding> all = new ArrayList<>(bindings.values());
        Collections.shuffle(all, new Random(n));
        int rebooted = Math.max(1, n / 100);
        for (Binding b : all.subList(0, rebooted)) {
            Binding next = new Binding(b.uuid, b.address, b.storedAddress, newKey());
            bindings.remove(b.key);
            bindings.put(next.key, next);
            store.put(next.uuid, next.storedAddress, next.key);
        }
        Measured wave = measure(() -> reconciler.pass());
        expectPeers(expected(bindings), "N=" + n + " after the reboot wave");

        rows.add(new Row(n, "idle pass (median of " + repeat + ")", idleMedian, idleMedian.ms() / dumpMs, "× bare dump"));
        rows.add(new Row(n, "reboot wave (" + rebooted + " new keys)", wave, wave.ms() / dumpMs, "× bare dump"));
        notes.add(String.format(Locale.ROOT, "N=%d baselines: wg show dump %.1f ms (%d KiB of output), wg set fwmark 0 %.1f ms; idle passes %s ms",
                n, dumpMs, dumpText.length() / 1024, setMs, times(idle)));
        notes.add(steps);
    }

    private static List<String> times(List<Measured> measured) {
        return measured.stream().map(m -> String.format(Locale.ROOT, "%.0f", m.ms())).toList();
    }

    private static Measured median(List<Measured> measured) {
        return measured.stream().sorted((x, y) -> Long.compare(x.nanos, y.nanos)).toList().get(measured.size() / 2);
    }

    /**
     * Where an idle pass's Java time goes: the same steps the pass takes, timed one by one on the
     * converged interface's dump (median of the repetitions).
     */
    private String components(int n, String dumpText, Map<String, Binding> bindings) {
        WgDump dump = WgDumpParser.parse(dumpText);
        List<ServerBinding> all = List.copyOf(store.bindings());
        Map<String, ServerBinding> byKey = new HashMap<>();
        all.forEach(b -> byKey.put(b.siderolink().publicKey(), b));
        Map<String, String> desired = expected(bindings);
        double parse = median(repeat, () -> WgDumpParser.parse(dumpText));
        double addresses = median(repeat, () -> all.forEach(b -> SiderolinkNetwork.parseStored(b.siderolink().address())));
        double plan = median(repeat, () -> PeerPlan.plan(desired, dump));
        java.time.Instant now = java.time.Instant.now();
        double metrics = median(repeat, () -> connectivity.update(dump, byKey, now, device.configuredAt()));
        return String.format(Locale.ROOT,
                "N=%d idle-pass steps, timed alone: WgDumpParser.parse %.1f ms, parsing %d stored addresses %.1f ms (cached across passes), PeerPlan.plan %.1f ms, Connectivity.update %.1f ms",
                n, parse, all.size(), addresses, plan, metrics);
    }

    private static double ratio(Measured m, Measured base) {
        return m.ms() / base.ms();
    }

    private Measured measure(java.util.function.IntSupplier action) {
        commands.reset();
        long daemonBefore = commands.daemonCpuMillis();
        long jvmBefore = JVM.getProcessCpuTime();
        long start = System.nanoTime();
        int result = action.getAsInt();
        long nanos = System.nanoTime() - start;
        return new Measured(nanos, result, commands.counts(), commands.commandNanos, List.copyOf(commands.argvKib),
                commands.daemonCpuMillis() - daemonBefore, (JVM.getProcessCpuTime() - jvmBefore) / 1_000_000);
    }

    private static double median(int times, Runnable action) {
        double[] ms = new double[times];
        for (int i = 0; i < times; i++) {
            long start = System.nanoTime();
            action.run();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        return ms[times / 2];
    }

    /** Checks the interface holds exactly these peers (public key → allowed IP), nothing else. */
    private void expectPeers(Map<String, String> expected, String when) {
        WgDump dump = WgDumpParser.parse(commands.delegate.run(List.of("wg", "show", name, "dump")).stdout());
        int wrong = 0;
        String example = null;
        for (WgDump.Peer peer : dump.peers()) {
            String want = expected.get(peer.publicKey());
            if (want == null || !peer.allowedIps().equals(List.of(want))) {
                wrong++;
                example = example != null ? example : peer.publicKey() + " has " + peer.allowedIps() + ", expected " + want;
            }
        }
        if (dump.peers().size() != expected.size() || wrong > 0) {
            throw new IllegalStateException(when + ": the interface has " + dump.peers().size() + " peers, expected " + expected.size()
                    + "; " + wrong + " wrong" + (example == null ? "" : " (e.g. " + example + ")"));
        }
    }

    private static Map<String, String> expected(Map<String, Binding> bindings) {
        Map<String, String> peers = new HashMap<>();
        bindings.values().forEach(b -> peers.put(b.key, b.address + "/128"));
        return peers;
    }

    /** N bindings by public key: random keys, distinct random addresses in the installation's /64. */
    private Map<String, Binding> bindings(int n) {
        Map<String, Binding> bindings = new LinkedHashMap<>();
        Set<String> addresses = new HashSet<>();
        addresses.add(identity.network().serverAddress().toCompressedString());
        byte[] id = new byte[8];
        while (bindings.size() < n) { // ends: 2^64 interface ids, n ≤ 50,000
            random.nextBytes(id);
            if (bindings.size() % 100 == 0) {
                id[2] = 0; // one in 100 has a zero group, which wg prints "0" and IPAddress's compressed form "::"
                id[3] = 0;
            }
            var address = identity.network().nodeAddress(id);
            if (addresses.add(address.toCanonicalString())) {
                String key = newKey();
                // expected allowed IP in wg's spelling (RFC 5952); stored address in the server's (compressed)
                bindings.put(key, new Binding(UUID.randomUUID().toString(), address.toCanonicalString(), SiderolinkNetwork.withPrefixLength(address), key));
            }
        }
        return bindings;
    }

    private String newKey() {
        byte[] key = new byte[32];
        random.nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    private void print() {
        System.out.println();
        System.out.printf("%-6s %-38s %9s %7s %-13s %9s %9s %9s %9s  %s%n",
                "N", "pass", "wall ms", "ratio", "", "cmds ms", "java ms", "JVM CPU", "wg-go CPU", "processes started");
        for (Row r : rows) {
            Measured m = r.measured;
            System.out.printf(Locale.ROOT, "%-6d %-38s %9.1f %7.2f %-13s %9.1f %9.1f %9d %9d  %s%n",
                    r.n, r.pass, m.ms(), r.ratio, r.against, m.commandNanos / 1e6, (m.nanos - m.commandNanos) / 1e6, m.jvmCpuMs, m.daemonCpuMs,
                    m.processes);
        }
        System.out.println("cmds ms: wall time waiting for wg/ip; java ms: the rest of the wall time; JVM CPU: CPU ms of all JVM threads"
                + " (GC included); wg-go CPU: wireguard-go's CPU ms (10 ms ticks)");
        System.out.println();
        notes.forEach(System.out::println);
        if (failures.isEmpty()) {
            System.out.println("checks: every idle pass started exactly one `wg show dump`; the interface held exactly the expected peers after every pass");
        } else {
            failures.forEach(f -> System.out.println("FAILED: " + f));
        }
    }

    private static int freeUdpPort() {
        Random ports = new Random();
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = 20_000 + ports.nextInt(40_000);
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(port))) { // wildcard: IPv4 and IPv6
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        throw new IllegalStateException("no free UDP port found in 100 attempts");
    }

    private record Binding(String uuid, String address, String storedAddress, String key) {}

    /**
     * @param commandNanos wall time spent waiting for commands
     * @param daemonCpuMs wireguard-go's CPU time during the pass
     * @param jvmCpuMs this JVM's CPU time during the pass, all threads (GC included)
     */
    private record Measured(long nanos, int result, Map<String, Integer> processes, long commandNanos, List<Long> argvKib, long daemonCpuMs,
            long jvmCpuMs) {
        double ms() {
            return nanos / 1e6;
        }
    }

    private record Row(int n, String pass, Measured measured, double ratio, String against) {}

    /**
     * Counts what the reconciler starts, by tool and verb ({@code wg show dump}, {@code wg set},
     * {@code ip link show}, ...), with the time spent in commands and each {@code wg set}'s argv
     * size. Also remembers the wireguard-go it spawned, to read that process's CPU time.
     */
    static final class Counting implements WgCommands {
        final ProcessWgCommands delegate;
        private final Map<String, Integer> counts = new TreeMap<>();
        private final List<Long> argvKib = new ArrayList<>();
        private long commandNanos;
        private volatile Process daemon;

        Counting(ProcessWgCommands delegate) {
            this.delegate = delegate;
        }

        @Override
        public Result run(List<String> argv, String stdin, Duration timeout) {
            counts.merge(verb(argv), 1, Integer::sum);
            if (argv.size() > 1 && argv.get(0).equals("wg") && argv.get(1).equals("set")) {
                argvKib.add(argv.stream().mapToLong(a -> a.length() + 1 + 8).sum() / 1024);
            }
            long start = System.nanoTime();
            try {
                return delegate.run(argv, stdin, timeout);
            } finally {
                commandNanos += System.nanoTime() - start;
            }
        }

        @Override
        public Process spawn(List<String> argv, Map<String, String> environment) {
            counts.merge(argv.get(0) + " (spawned)", 1, Integer::sum);
            Process process = delegate.spawn(argv, environment);
            daemon = process;
            return process;
        }

        void reset() {
            counts.clear();
            argvKib.clear();
            commandNanos = 0;
        }

        Map<String, Integer> counts() {
            return Map.copyOf(counts);
        }

        /** wireguard-go's user + system CPU time so far, from /proc (ticks of 10 ms); 0 without one. */
        long daemonCpuMillis() {
            Process process = daemon;
            if (process == null) {
                return 0;
            }
            try {
                String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * 10; // utime, stime; USER_HZ is 100
            } catch (IOException | RuntimeException e) {
                return 0;
            }
        }

        /** wireguard-go's resident memory ("VmRSS: ... kB"), or "?". */
        String daemonRss() {
            Process process = daemon;
            try {
                return process == null ? "?" : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status")).stream()
                        .filter(l -> l.startsWith("VmRSS:")).map(l -> "RSS " + l.substring(6).strip()).findFirst().orElse("?");
            } catch (IOException e) {
                return "?";
            }
        }

        /** {@code wg show dump}, {@code wg set}, {@code ip link show}, {@code ip address replace}: the tool and its verb(s). */
        static String verb(List<String> argv) {
            String tool = argv.get(0);
            if (tool.equals("wg")) {
                String verb = argv.size() > 1 ? argv.get(1) : "";
                return verb.equals("show") && argv.size() > 3 ? "wg show " + argv.get(3) : "wg " + verb;
            }
            List<String> words = argv.stream().skip(1).filter(a -> !a.startsWith("-")).limit(2).toList();
            return tool + " " + String.join(" ", words);
        }
    }
}
