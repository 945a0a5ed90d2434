package dev.siderolink.server.bench;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventResponse;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.standalone.StandaloneResourceStore;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.ConfigLoadErrorEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.ServiceStateEvent;
import dev.talos.api.machine.TaskEvent;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Load generator for the Talos event sink ({@code events.EventSinkService/Publish}), driven by
 * {@code scripts/bench-events.sh}. Two commands:
 *
 * <ul>
 *   <li>{@code prepare --dir=D --nodes=N --nodes-file=F}: creates a standalone state directory (the
 *       installation Secret, written by the store itself), one ServerBinding per simulated node
 *       holding its own tunnel address, and a MetalMachine per binding (so the status mirror is
 *       exercised), and writes the server address and the nodes to {@code F} for the script to
 *       add to an interface. Run it before the server starts.
 *   <li>{@code run --nodes-file=F --dir=D --port=P ...}: one HTTP/2 channel per node, each bound
 *       to the node's own source address (the sink identifies a node by it), each node publishing
 *       as Talos does: one call at a time, the next one after the answer. A warm-up, then a measured
 *       window.
 * </ul>
 *
 * <p>Scenarios of {@code run}: {@code print-only} publishes only events that change no status
 * (TaskEvent, ServiceStateEvent, PhaseEvent of other phases): decode, annotate, print; the
 * transport and stream ceiling. {@code status} cycles through ConfigLoadErrorEvent (with a new
 * message each time), SequenceEvent boot START (which turns the conditions the error set back to
 * True) and AddressEvent (with a new hostname each time), with {@code --print-per-status}
 * print-only events after each; every status event therefore changes the binding and its
 * MetalMachine: a real store write, never a skipped one.
 *
 * <p>Latency is measured from sending Publish to its answer for every event. The sink answers
 * a status event only after its binding and MetalMachine writes have completed (StatusPatcher),
 * so that is an upper bound of "visible in the store". On {@code --watch-nodes} nodes this is
 * also checked on disk: a poller thread re-reads the binding and MetalMachine files of their
 * outstanding status events (a {@code stat} every {@code --poll-micros}, a read when the file
 * changed) and records when each change is there; such a node sends its next event only once its
 * previous one was seen (or given up on after the deadline, counted as {@code NOT_VISIBLE}).
 *
 * <p>With {@code --rate=R} the nodes together aim at R events/s (each node paces itself at R/N,
 * never more than one call in flight); with 0 they publish as fast as they are answered. The last
 * line is machine-readable: {@code RESULT key=value ...}. Exit status 0 when every measured event
 * was answered OK (and every watched one seen on disk), 1 otherwise, 2 on bad arguments, 3 when
 * the watchdog fired.
 */
public final class EventLoad {

    static final String NOT_VISIBLE = "NOT_VISIBLE";
    static final String NAMESPACE = "default";

    // ---------------------------------------------------------------- options

    private static Map<String, String> parseArgs(String[] args, Map<String, String> defaults) {
        Map<String, String> values = new LinkedHashMap<>(defaults);
        for (int i = 1; i < args.length; i++) {
            String arg = args[i];
            int eq = arg.indexOf('=');
            String name = arg.startsWith("--") && eq > 2 ? arg.substring(2, eq) : null;
            if (name == null || !values.containsKey(name)) {
                throw new IllegalArgumentException("unknown argument " + arg + "; known: " + values.keySet());
            }
            values.put(name, arg.substring(eq + 1));
        }
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (e.getValue() == null) {
                throw new IllegalArgumentException("--" + e.getKey() + " is required");
            }
        }
        return values;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    public static void main(String[] args) throws Exception {
        String command = args.length == 0 ? "" : args[0];
        try {
            switch (command) {
                case "prepare" -> {
                    Map<String, String> defaults = new LinkedHashMap<>();
                    defaults.put("dir", null);
                    defaults.put("nodes", "200");
                    defaults.put("nodes-file", null);
                    Map<String, String> v = parseArgs(args, defaults);
                    int nodes = Integer.parseInt(v.get("nodes"));
                    require(nodes >= 1 && nodes <= 60_000, "nodes must be 1..60000");
                    prepare(Path.of(v.get("dir")), nodes, Path.of(v.get("nodes-file")));
                    System.exit(0);
                }
                case "run" -> {
                    RunOptions options = RunOptions.parse(args);
                    BenchProcess.startWatchdog("EventLoad", options.budgetMillis());
                    EventLoad load = new EventLoad(options);
                    int status;
                    try {
                        status = load.run();
                    } finally {
                        load.close();
                    }
                    System.exit(status);
                }
                default -> throw new IllegalArgumentException("first argument must be prepare or run");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("EventLoad: " + e.getMessage());
            System.err.println("usage: EventLoad prepare --dir=D --nodes-file=F [--nodes=200]");
            System.err.println("       EventLoad run --nodes-file=F --dir=D --port=P [--scenario=status|print-only] [--rate=0]"
                    + " [--print-per-status=1] [--watch-nodes=10] [--poll-micros=1000] [--warmup-seconds=10] [--duration-seconds=15]"
                    + " [--deadline-ms=10000] [--server-pid=0] [--clk-tck=100]");
            System.exit(2);
        }
    }

    record RunOptions(
            Path nodesFile,
            Path dir,
            int port,
            boolean status,
            double rate,
            int printPerStatus,
            int watchNodes,
            long pollMicros,
            double warmupSeconds,
            double durationSeconds,
            long deadlineMillis,
            long serverPid,
            int clockTicks) {

        static RunOptions parse(String[] args) {
            Map<String, String> d = new LinkedHashMap<>();
            d.put("nodes-file", null);
            d.put("dir", null);
            d.put("port", null);
            d.put("scenario", "status");
            d.put("rate", "0");
            d.put("print-per-status", "1");
            d.put("watch-nodes", "10");
            d.put("poll-micros", "1000");
            d.put("warmup-seconds", "10");
            d.put("duration-seconds", "15");
            d.put("deadline-ms", "10000");
            d.put("server-pid", "0");
            d.put("clk-tck", "100");
            Map<String, String> v = parseArgs(args, d);
            String scenario = v.get("scenario");
            require(scenario.equals("status") || scenario.equals("print-only"), "scenario must be status or print-only");
            RunOptions o = new RunOptions(Path.of(v.get("nodes-file")), Path.of(v.get("dir")), Integer.parseInt(v.get("port")),
                    scenario.equals("status"), Double.parseDouble(v.get("rate")), Integer.parseInt(v.get("print-per-status")),
                    Integer.parseInt(v.get("watch-nodes")), Long.parseLong(v.get("poll-micros")),
                    Double.parseDouble(v.get("warmup-seconds")), Double.parseDouble(v.get("duration-seconds")),
                    Long.parseLong(v.get("deadline-ms")), Long.parseLong(v.get("server-pid")), Integer.parseInt(v.get("clk-tck")));
            require(o.port > 0 && o.port < 65536, "port out of range");
            require(o.rate >= 0 && o.rate <= 1_000_000, "rate must be 0..1000000 (0: as fast as answered)");
            require(o.printPerStatus >= 0 && o.printPerStatus <= 100, "print-per-status must be 0..100");
            require(o.watchNodes >= 0, "watch-nodes must be >= 0");
            require(o.pollMicros >= 50 && o.pollMicros <= 1_000_000, "poll-micros must be 50..1000000");
            require(o.warmupSeconds >= 0 && o.warmupSeconds <= 600, "warmup-seconds must be 0..600");
            require(o.durationSeconds > 0 && o.durationSeconds <= 3600, "duration-seconds must be >0 and <=3600");
            require(o.deadlineMillis >= 100 && o.deadlineMillis <= 120_000, "deadline-ms must be 100..120000");
            require(o.serverPid >= 0, "server-pid must be >= 0 (0: do not measure the server's CPU)");
            require(o.clockTicks >= 1, "clk-tck must be >= 1");
            return o;
        }

        long budgetMillis() {
            return (long) ((warmupSeconds + durationSeconds) * 1000) + 3 * deadlineMillis + 60_000;
        }
    }

    // ---------------------------------------------------------------- prepare

    /** One simulated node as the nodes file lists it. */
    record NodeSpec(int index, String uuid, InetAddress address, String metalMachine) {}

    static void prepare(Path dir, int nodes, Path nodesFile) throws IOException {
        SiderolinkNetwork network;
        // The store writes the Secret exactly as the server would at first start.
        try (StandaloneResourceStore store = new StandaloneResourceStore(dir, NAMESPACE, false)) {
            InstallationSecret secret = store.loadOrCreateInstallationSecret(() -> InstallationIdentity.generateSecret(new SecureRandom()))
                    .block();
            network = InstallationIdentity.from(Objects.requireNonNull(secret)).network();
        }
        Path bindings = dir.resolve("serverbindings");
        Path machines = dir.resolve("metalmachines").resolve(NAMESPACE);
        Files.createDirectories(bindings);
        Files.createDirectories(machines);
        StringBuilder list = new StringBuilder();
        list.append("server ").append(network.serverAddress().toCompressedString()).append('\n');
        for (int i = 0; i < nodes; i++) {
            byte[] interfaceId = {0, 0, 0, 0, (byte) 0xbe, (byte) 0x0e, (byte) ((i + 1) >> 8), (byte) (i + 1)};
            String address = network.nodeAddress(interfaceId).toCompressedString();
            String uuid = UUID.randomUUID().toString();
            String mm = "mm-" + i;
            byte[] key = new byte[32];
            ThreadLocalRandom.current().nextBytes(key);
            Files.writeString(bindings.resolve(uuid + ".yaml"), """
                    apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                    kind: ServerBinding
                    metadata:
                      name: %s
                      labels:
                        cluster.x-k8s.io/cluster-name: bench
                    spec:
                      metalMachineRef:
                        namespace: %s
                        name: %s
                      siderolink:
                        address: %s/64
                        publicKey: %s
                    """.formatted(uuid, NAMESPACE, mm, address, Base64.getEncoder().encodeToString(key)));
            Files.writeString(machines.resolve(mm + ".yaml"), """
                    apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                    kind: MetalMachine
                    metadata:
                      namespace: %s
                      name: %s
                      ownerReferences:
                        - apiVersion: cluster.x-k8s.io/v1beta1
                          kind: Machine
                          name: bench-machine-%d
                          uid: %s
                          controller: true
                    spec:
                      serverClassRef:
                        name: any
                    """.formatted(NAMESPACE, mm, i, UUID.randomUUID()));
            list.append("node ").append(i).append(' ').append(uuid).append(' ').append(address).append(' ').append(mm).append('\n');
        }
        Files.writeString(nodesFile, list.toString());
        System.out.printf(Locale.ROOT, "prepared %s: network %s, %d bindings with MetalMachines%n", dir, network.prefixText(), nodes);
    }

    static InetAddress serverAddress(List<String> lines) throws IOException {
        for (String line : lines) {
            if (line.startsWith("server ")) {
                return InetAddress.getByName(line.substring(7).trim());
            }
        }
        throw new IOException("no server line in the nodes file");
    }

    static List<NodeSpec> nodeSpecs(List<String> lines) throws IOException {
        List<NodeSpec> result = new ArrayList<>();
        for (String line : lines) {
            if (line.startsWith("node ")) {
                String[] f = line.trim().split(" ");
                result.add(new NodeSpec(Integer.parseInt(f[1]), f[2], InetAddress.getByName(f[3]), f[4]));
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- phases

    /** What completes while a phase is current is counted in it. */
    static final class Phase {
        final String name;
        final Recorder all = new Recorder(3);
        final Recorder status = new Recorder(3);
        final Recorder visibleBinding = new Recorder(3);
        final Recorder visibleBoth = new Recorder(3);
        final LongAdder ok = new LongAdder();
        final LongAdder okStatus = new LongAdder();
        final LongAdder failed = new LongAdder();
        final LongAdder seenAfterAnswer = new LongAdder();
        final Map<String, LongAdder> outcomes = new ConcurrentHashMap<>();
        volatile long startNanos;
        volatile long endNanos;
        long clientCpuStart = -1;
        long clientCpuEnd = -1;
        long serverCpuStart = -1;
        long serverCpuEnd = -1;
        long serverSysStart = -1;
        long serverSysEnd = -1;

        Phase(String name) {
            this.name = name;
        }

        void outcome(String code) {
            outcomes.computeIfAbsent(code, k -> new LongAdder()).increment();
        }
    }

    // ---------------------------------------------------------------- nodes

    /** A status event being looked for on disk. */
    static final class Sample {
        final long sentNanos;
        final Predicate<String> visible;
        long bindingNanos = -1; // poller thread only
        volatile boolean done;
        boolean answered; // guarded by the node
        long answerNanos;

        Sample(long sentNanos, Predicate<String> visible) {
            this.sentNanos = sentNanos;
            this.visible = visible;
        }
    }

    /** A file's identity as last read by the poller: a replace gives it a new inode. */
    record Stamp(Object key, long size, long modified) {}

    final class Node {
        final NodeSpec spec;
        final EventSinkServiceGrpc.EventSinkServiceStub stub;
        final boolean watched;
        final Path bindingFile;
        final Path metalMachineFile;
        long seq;
        int position; // in the mix
        long nextDueNanos;
        boolean previousStatusOk = true;
        volatile Sample sample;
        // poller thread only
        Stamp bindingStamp;
        Stamp machineStamp;

        Node(NodeSpec spec, EventSinkServiceGrpc.EventSinkServiceStub stub, boolean watched) {
            this.spec = spec;
            this.stub = stub;
            this.watched = watched;
            this.bindingFile = options.dir().resolve("serverbindings").resolve(spec.uuid() + ".yaml");
            this.metalMachineFile = options.dir().resolve("metalmachines").resolve(NAMESPACE).resolve(spec.metalMachine() + ".yaml");
        }

        /** Publishes the next event of the mix (this node has nothing in flight). */
        void send() {
            if (stopping) {
                idle.countDown();
                return;
            }
            long n = ++seq;
            // xid-shaped (20 characters), unique per run, node and event: never taken for a replay
            String id = String.format(Locale.ROOT, "%s%04x%012x", runTag, spec.index(), n);
            Message payload;
            Predicate<String> check = null;
            boolean statusEvent = false;
            int cycle = options.status() ? 3 * (1 + options.printPerStatus()) : 3;
            int p = position;
            position = (position + 1) % cycle;
            if (options.status() && p % (1 + options.printPerStatus()) == 0) {
                statusEvent = true;
                int kind = p / (1 + options.printPerStatus());
                // tokens are delimited (s<n>z) so one never matches inside another
                String token = "r" + runTag + "s" + n + "z";
                switch (kind) {
                    case 0 -> {
                        payload = ConfigLoadErrorEvent.newBuilder().setError("bench-load-error-" + token).build();
                        check = text -> text.contains(token);
                    }
                    case 1 -> {
                        payload = SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build();
                        // the load error before it is gone (TalosConfigLoaded back to True)
                        check = previousStatusOk ? text -> !text.contains("TalosConfigLoadFailed") : null;
                    }
                    default -> {
                        payload = AddressEvent.newBuilder().setHostname("n" + spec.index() + "-" + token)
                                .addAddresses(spec.address().getHostAddress())
                                .addAddresses("10.10." + (spec.index() >> 8 & 0xff) + "." + (spec.index() & 0xff))
                                .addAddresses("fd10::" + Integer.toHexString(spec.index() + 1)).build();
                        check = text -> text.contains(token);
                    }
                }
            } else {
                payload = printOnly(n);
            }
            EventRequest request = EventRequest.newBuilder().setId(id).setData(Any.pack(payload, "type.googleapis.com")).build();
            long start = System.nanoTime();
            Sample s = watched && check != null ? new Sample(start, check) : null;
            sample = s;
            boolean isStatus = statusEvent;
            StreamObserver<EventResponse> observer = new StreamObserver<>() {
                @Override
                public void onNext(EventResponse value) {}

                @Override
                public void onError(Throwable t) {
                    answered(start, isStatus, s, Status.fromThrowable(t).getCode().name());
                }

                @Override
                public void onCompleted() {
                    answered(start, isStatus, s, "OK");
                }
            };
            try {
                stub.withDeadlineAfter(options.deadlineMillis(), TimeUnit.MILLISECONDS).publish(request, observer);
            } catch (RuntimeException e) {
                answered(start, isStatus, s, "CLIENT_" + e.getClass().getSimpleName());
            }
        }

        private Message printOnly(long n) {
            return switch ((int) (n % 3)) {
                case 0 -> TaskEvent.newBuilder().setTask("task" + (n % 17)).setAction(n % 2 == 0 ? TaskEvent.Action.START : TaskEvent.Action.STOP)
                        .build();
                case 1 -> ServiceStateEvent.newBuilder().setService("svc" + (n % 11)).setAction(ServiceStateEvent.Action.RUNNING)
                        .setMessage("Health check successful").build();
                default -> PhaseEvent.newBuilder().setPhase("phase" + (n % 13)).setAction(PhaseEvent.Action.START).build();
            };
        }

        private void answered(long startNanos, boolean isStatus, Sample s, String code) {
            long now = System.nanoTime();
            long micros = Math.max(1, (now - startNanos) / 1_000);
            Phase phase = current;
            phase.outcome(code);
            boolean ok = code.equals("OK");
            if (ok) {
                phase.ok.increment();
                phase.all.recordValue(micros);
                if (isStatus) {
                    phase.okStatus.increment();
                    phase.status.recordValue(micros);
                }
            } else {
                phase.failed.increment();
            }
            if (isStatus) {
                previousStatusOk = ok;
            }
            if (s != null) {
                boolean proceed;
                synchronized (this) {
                    s.answered = true;
                    s.answerNanos = now;
                    if (!ok) {
                        s.done = true; // nothing to look for
                    }
                    proceed = s.done;
                }
                if (!proceed) {
                    return; // the poller sends the next event once it has seen this one
                }
            }
            next(ok);
        }

        /** Schedules the next event: at once, after the pacing interval, or after an error pause. */
        void next(boolean lastOk) {
            long delay = 0;
            long now = System.nanoTime();
            if (intervalNanos > 0) {
                nextDueNanos += intervalNanos;
                if (nextDueNanos < now - TimeUnit.SECONDS.toNanos(1)) {
                    nextDueNanos = now; // far behind: no catch-up burst
                }
                delay = nextDueNanos - now;
            }
            if (!lastOk) {
                delay = Math.max(delay, TimeUnit.MILLISECONDS.toNanos(50)); // no hot loop on errors
            }
            if (delay > 0) {
                timer.schedule(this::send, delay, TimeUnit.NANOSECONDS);
            } else {
                send();
            }
        }
    }

    // ---------------------------------------------------------------- run

    private final RunOptions options;
    private final List<ManagedChannel> channels = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<Node> watchedNodes = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pacer");
        t.setDaemon(true);
        return t;
    });
    private final long intervalNanos;
    /** Tells this run's event ids and status texts from those of earlier runs against the same state. */
    private final String runTag = String.format(Locale.ROOT, "%04x", ThreadLocalRandom.current().nextInt(0x10000));
    private volatile Phase current = new Phase("start");
    private volatile boolean stopping;
    private volatile boolean pollerStop;
    private CountDownLatch idle;

    EventLoad(RunOptions options) throws IOException {
        this.options = options;
        List<String> lines = Files.readAllLines(options.nodesFile());
        InetAddress server = serverAddress(lines);
        List<NodeSpec> specs = nodeSpecs(lines);
        require(!specs.isEmpty(), "no nodes in " + options.nodesFile());
        this.intervalNanos = options.rate() > 0 ? (long) (specs.size() * 1e9 / options.rate()) : 0;
        int watch = options.status() ? Math.min(options.watchNodes(), specs.size()) : 0;
        for (NodeSpec spec : specs) {
            ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(server, options.port()))
                    .usePlaintext()
                    // answers only record figures and start the next call: run them on the event loop
                    .directExecutor()
                    .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                        @Override
                        public SocketAddress createSocketAddress(SocketAddress remote, io.grpc.Attributes attrs) {
                            return new InetSocketAddress(spec.address(), 0);
                        }
                    })
                    .build();
            channels.add(channel);
            // spread the watched nodes over the fleet
            boolean watched = watch > 0 && spec.index() % Math.max(1, specs.size() / watch) == 0 && watchedNodes.size() < watch;
            Node node = new Node(spec, EventSinkServiceGrpc.newStub(channel), watched);
            nodes.add(node);
            if (watched) {
                watchedNodes.add(node);
            }
        }
    }

    int run() throws InterruptedException {
        RunOptions o = options;
        System.out.printf(Locale.ROOT, "scenario %s: %d nodes (%d watched on disk), %s, %s; warm-up %.1f s, measure %.1f s%n",
                o.status() ? "status" : "print-only", nodes.size(), watchedNodes.size(),
                o.rate() > 0 ? String.format(Locale.ROOT, "paced at %.0f events/s in total", o.rate()) : "unpaced (next event on each answer)",
                o.status() ? o.printPerStatus() + " print-only event(s) after each status event" : "print-only events",
                o.warmupSeconds(), o.durationSeconds());
        Thread poller = new Thread(this::poll, "visibility-poller");
        poller.setDaemon(true);
        poller.start();

        idle = new CountDownLatch(nodes.size());
        Phase warmup = new Phase("warm-up");
        Phase measure = new Phase("measure");
        open(warmup);
        long now = System.nanoTime();
        // staggered starts: paced nodes spread over one interval, unpaced ones over 100 ms
        long spread = intervalNanos > 0 ? intervalNanos : TimeUnit.MILLISECONDS.toNanos(100);
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            long offset = spread * i / nodes.size();
            node.nextDueNanos = now + offset;
            timer.schedule(node::send, offset, TimeUnit.NANOSECONDS);
        }
        sleepSeconds(o.warmupSeconds());
        close(warmup);
        open(measure);
        sleepSeconds(o.durationSeconds());
        close(measure);
        current = new Phase("drain");
        stopping = true;
        boolean drained = idle.await(o.deadlineMillis() + 5_000, TimeUnit.MILLISECONDS);
        if (!drained) {
            System.out.println(idle.getCount() + " nodes still had an event in flight " + (o.deadlineMillis() + 5_000) + " ms after the end");
        }
        pollerStop = true;
        poller.join(2_000);
        report(warmup, false);
        return report(measure, true) && drained ? 0 : 1;
    }

    private void open(Phase phase) {
        phase.clientCpuStart = BenchProcess.ownCpuMillis();
        phase.serverCpuStart = BenchProcess.cpuMillis(options.serverPid(), false, options.clockTicks());
        phase.serverSysStart = BenchProcess.cpuMillis(options.serverPid(), true, options.clockTicks());
        phase.startNanos = System.nanoTime();
        current = phase;
    }

    private void close(Phase phase) {
        phase.endNanos = System.nanoTime();
        phase.clientCpuEnd = BenchProcess.ownCpuMillis();
        phase.serverCpuEnd = BenchProcess.cpuMillis(options.serverPid(), false, options.clockTicks());
        phase.serverSysEnd = BenchProcess.cpuMillis(options.serverPid(), true, options.clockTicks());
    }

    // ---------------------------------------------------------------- the disk poller

    /**
     * Looks at the files of the watched nodes' outstanding status events: binding first, then its
     * MetalMachine (written after it). A stat per file and round; a read only when it changed.
     */
    private void poll() {
        long deadline = TimeUnit.MILLISECONDS.toNanos(options.deadlineMillis() + 5_000);
        while (!pollerStop) {
            for (Node node : watchedNodes) {
                Sample s = node.sample;
                if (s == null || s.done) {
                    continue;
                }
                long now = System.nanoTime();
                if (s.bindingNanos < 0) {
                    Stamp stamp = stamp(node.bindingFile);
                    if (stamp != null && !stamp.equals(node.bindingStamp)) {
                        node.bindingStamp = stamp;
                        if (s.visible.test(read(node.bindingFile))) {
                            s.bindingNanos = System.nanoTime();
                        }
                    }
                }
                boolean seen = false;
                if (s.bindingNanos >= 0) {
                    Stamp stamp = stamp(node.metalMachineFile);
                    if (stamp != null && !stamp.equals(node.machineStamp)) {
                        node.machineStamp = stamp;
                        seen = s.visible.test(read(node.metalMachineFile));
                    }
                }
                boolean expired = !seen && now - s.sentNanos > deadline;
                if (seen || expired) {
                    finish(node, s, seen);
                }
            }
            LockSupport.parkNanos(options.pollMicros() * 1_000);
        }
    }

    private void finish(Node node, Sample s, boolean seen) {
        long now = System.nanoTime();
        Phase phase = current;
        boolean proceed;
        synchronized (node) {
            if (s.done) {
                return; // answered with an error meanwhile
            }
            s.done = true;
            proceed = s.answered;
            if (seen) {
                phase.visibleBinding.recordValue(Math.max(1, (s.bindingNanos - s.sentNanos) / 1_000));
                phase.visibleBoth.recordValue(Math.max(1, (now - s.sentNanos) / 1_000));
                // seen on disk more than one poll round after the answer: the answer came first
                if (s.answered && s.bindingNanos - s.answerNanos > 2 * options.pollMicros() * 1_000) {
                    phase.seenAfterAnswer.increment();
                }
            } else {
                phase.outcome(NOT_VISIBLE);
                phase.failed.increment();
            }
        }
        if (proceed) {
            node.next(seen);
        }
    }

    private static Stamp stamp(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(a.fileKey(), a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS));
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            return null;
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return ""; // replaced between stat and read: the next round reads the new one
        }
    }

    // ---------------------------------------------------------------- report

    private boolean report(Phase phase, boolean result) {
        Histogram all = phase.all.getIntervalHistogram();
        Histogram status = phase.status.getIntervalHistogram();
        Histogram visible = phase.visibleBinding.getIntervalHistogram();
        Histogram both = phase.visibleBoth.getIntervalHistogram();
        double seconds = (phase.endNanos - phase.startNanos) / 1e9;
        long ok = phase.ok.sum();
        long okStatus = phase.okStatus.sum();
        long bad = phase.failed.sum();
        double rate = seconds > 0 ? ok / seconds : 0;
        double statusRate = seconds > 0 ? okStatus / seconds : 0;
        Map<String, Long> outcomes = new TreeMap<>();
        phase.outcomes.forEach((k, v) -> outcomes.put(k, v.sum()));
        System.out.printf(Locale.ROOT, "%s: %d events in %.2f s = %.0f events/s (%d status = %.0f/s); answer p50 %.2f / p99 %.2f / max %.2f ms;"
                        + " status answer p50 %.2f / p99 %.2f / max %.2f ms; on disk (%d samples): binding p50 %.2f / p99 %.2f / max %.2f ms,"
                        + " binding+MetalMachine p50 %.2f / p99 %.2f / max %.2f ms; outcomes %s%n",
                phase.name, ok, seconds, rate, okStatus, statusRate, ms(all, 50), ms(all, 99), all.getMaxValue() / 1000.0,
                ms(status, 50), ms(status, 99), status.getMaxValue() / 1000.0, visible.getTotalCount(), ms(visible, 50), ms(visible, 99),
                visible.getMaxValue() / 1000.0, ms(both, 50), ms(both, 99), both.getMaxValue() / 1000.0, outcomes);
        if (!result) {
            return bad == 0;
        }
        long events = ok + bad;
        long server = diff(phase.serverCpuStart, phase.serverCpuEnd);
        long serverSys = diff(phase.serverSysStart, phase.serverSysEnd);
        long client = diff(phase.clientCpuStart, phase.clientCpuEnd);
        StringBuilder errors = new StringBuilder();
        outcomes.forEach((code, count) -> {
            if (!code.equals("OK")) {
                errors.append(errors.length() == 0 ? "" : ",").append(code).append(':').append(count);
            }
        });
        System.out.printf(Locale.ROOT, "RESULT scenario=%s status=done nodes=%d target_rate=%.0f events=%d seconds=%.3f events_per_s=%.1f"
                        + " status_events=%d status_per_s=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f"
                        + " status_p50_ms=%.3f status_p99_ms=%.3f status_max_ms=%.3f"
                        + " visible_samples=%d visible_p50_ms=%.3f visible_p99_ms=%.3f visible_max_ms=%.3f"
                        + " visible_mm_p50_ms=%.3f visible_mm_p99_ms=%.3f visible_mm_max_ms=%.3f seen_after_answer=%d"
                        + " errors=%d error_codes=%s server_cpu_pct=%s server_sys_pct=%s server_cpu_us_per_event=%s client_cpu_pct=%s%n",
                options.status() ? "status" : "print-only", nodes.size(), options.rate(), ok, seconds, rate, okStatus, statusRate,
                ms(all, 50), ms(all, 99), all.getMaxValue() / 1000.0, ms(status, 50), ms(status, 99), status.getMaxValue() / 1000.0,
                visible.getTotalCount(), ms(visible, 50), ms(visible, 99), visible.getMaxValue() / 1000.0,
                ms(both, 50), ms(both, 99), both.getMaxValue() / 1000.0, phase.seenAfterAnswer.sum(),
                bad, errors.length() == 0 ? "-" : errors, percent(server, seconds), percent(serverSys, seconds),
                server < 0 || events == 0 ? "-" : String.format(Locale.ROOT, "%.0f", server * 1000.0 / events), percent(client, seconds));
        return bad == 0;
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    private static long diff(long start, long end) {
        return start < 0 || end < 0 ? -1 : end - start;
    }

    /** CPU milliseconds over the window as a percentage of one core. */
    private static String percent(long cpuMillis, double seconds) {
        return cpuMillis < 0 || seconds <= 0 ? "-" : String.format(Locale.ROOT, "%.0f", cpuMillis / 10.0 / seconds);
    }

    private static void sleepSeconds(double seconds) throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep((long) (seconds * 1000));
    }

    void close() throws InterruptedException {
        timer.shutdownNow();
        for (ManagedChannel channel : channels) {
            channel.shutdown();
        }
        for (ManagedChannel channel : channels) {
            if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
                channel.shutdownNow();
            }
        }
    }
}
