package dev.siderolink.server.wireguard;

import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.startup.StartupProblem;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv6.IPv6Address;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Keeps the interface's peers equal to the bindings: every pass reads {@code wg show dump} once,
 * computes the {@link PeerPlan} from all bindings (full state, not the event delta) and applies
 * it in one {@code wg set}; a pass with nothing to change writes nothing. Passes run on one
 * thread, every {@code siderolink.wireguard.reconcile-interval} and at once when a binding
 * changes (changes arriving during a pass are coalesced into one more pass). A missing interface
 * is recreated by the next pass. Every pass is fenced: an error is logged and counted, and the
 * next pass tries again.
 */
public class PeerReconciler implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(PeerReconciler.class);

    private final WireGuardDevice device;
    private final ResourceStore store;
    private final Connectivity connectivity;
    private final Duration interval;
    private final boolean removeDownPeers;
    private final Clock clock;
    private final Scheduler thread = Schedulers.newSingle("wg-reconcile", true);
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Disposable.Composite subscriptions = Disposables.composite();
    private final Counter passes;
    private final Counter failures;
    private final Counter wgSetCalls;
    private final Counter peersChanged;
    private final Counter recreations;
    private final Timer passTime;
    /** Servers whose peer was removed as down, until they provision again. */
    private final Set<String> removedAsDown = ConcurrentHashMap.newKeySet();
    private volatile boolean running;
    private volatile Instant lastSuccess;
    /** When the loop started, and when its latest pass ended (either way): the loop's heartbeat. */
    private volatile Instant startedAt;
    private volatile Instant lastPassEnded;
    private volatile String lastError;
    /**
     * Stored address text → parsed address, for the bindings of the last pass only (pass thread
     * only): parsing 10,000 addresses twice on every pass cost more than planning the pass.
     */
    private Map<String, Optional<IPv6Address>> parsedAddresses = new HashMap<>();

    public PeerReconciler(WireGuardDevice device, ResourceStore store, Connectivity connectivity, Duration interval,
            boolean removeDownPeers, Clock clock, MeterRegistry registry) {
        this.device = device;
        this.store = store;
        this.connectivity = connectivity;
        this.interval = interval;
        this.removeDownPeers = removeDownPeers;
        this.clock = clock;
        passes = Counter.builder("siderolink.wireguard.reconcile.passes").description("Peer reconcile passes").register(registry);
        failures = Counter.builder("siderolink.wireguard.reconcile.failures").description("Peer reconcile passes that failed").register(registry);
        wgSetCalls = Counter.builder("siderolink.wireguard.reconcile.commands").description("wg set calls made to change peers").register(registry);
        peersChanged = Counter.builder("siderolink.wireguard.reconcile.peer.changes").description("Peers added, updated or removed").register(registry);
        recreations = Counter.builder("siderolink.wireguard.interface.recreations").description("Times the interface was found missing and recreated").register(registry);
        passTime = Timer.builder("siderolink.wireguard.reconcile.duration").description("Time of one reconcile pass").register(registry);
    }

    /** Asks for a pass as soon as possible; requests made before it starts are merged into it. */
    public void requestPass() {
        if (running && scheduled.compareAndSet(false, true)) {
            thread.schedule(this::fencedPass);
        }
    }

    /** A server provisioned: if its peer was removed as down, it comes back. */
    public void provisioned(String uuid) {
        if (removedAsDown.remove(uuid)) {
            requestPass();
        }
    }

    /** A pass that cannot throw: failures are logged, counted and kept for health. */
    void fencedPass() {
        scheduled.set(false);
        try {
            passTime.record(this::pass);
        } catch (RuntimeException e) {
            failures.increment();
            lastError = e.getMessage();
            log.warn("WireGuard peer reconcile failed (next pass in {}): {}", interval, e.getMessage());
        } finally {
            lastPassEnded = clock.instant();
        }
    }

    /** One pass; package-visible for tests and the benchmark. Returns the number of wg set calls. */
    int pass() {
        WgDump dump = device.dumpOrNull();
        if (dump == null) {
            log.warn("WireGuard interface {} is missing: recreating it", device.name());
            recreations.increment();
            device.ensure();
            dump = device.dumpOrNull();
            if (dump == null) {
                throw new IllegalStateException("interface " + device.name() + " still missing after recreation");
            }
        }
        Instant now = clock.instant();
        Map<String, Optional<IPv6Address>> parsedLastPass = parsedAddresses;
        parsedAddresses = new HashMap<>();
        Map<String, ServerBinding> byKey = desiredBindings(parsedLastPass);
        Map<String, WgDump.Peer> current = dump.peersByKey();
        if (removeDownPeers) {
            dropDownPeers(byKey, current, now);
        }
        Map<String, String> desired = new HashMap<>(byKey.size() * 2);
        byKey.forEach((key, binding) -> desired.put(key, allowedIp(binding, current.get(key))));
        List<PeerPlan.Change> changes = PeerPlan.plan(desired, dump);
        int calls = 0;
        if (!changes.isEmpty()) {
            calls = device.apply(changes);
            wgSetCalls.increment(calls);
            peersChanged.increment(changes.size());
            log.debug("WireGuard peers: {} changes in {} wg set call(s)", changes.size(), calls);
            dump = device.dumpOrNull(); // the counters below describe the peers as they are now
            if (dump == null) {
                throw new IllegalStateException("interface " + device.name() + " vanished during the pass");
            }
        }
        connectivity.update(dump, byKey, now, device.configuredAt());
        passes.increment();
        lastSuccess = now;
        lastError = null;
        return calls;
    }

    /**
     * Bindings with both a key and a usable address, by key. Two bindings with one key (a copied
     * file, a duplicated SMBIOS UUID) would fight over the peer: the first by name wins, logged.
     */
    private Map<String, ServerBinding> desiredBindings(Map<String, Optional<IPv6Address>> parsedLastPass) {
        Map<String, ServerBinding> byKey = new HashMap<>();
        store.bindings().stream()
                .filter(b -> b.siderolink().publicKey() != null && parse(b.siderolink().address(), parsedLastPass).isPresent())
                .sorted(Comparator.comparing(ServerBinding::uuid))
                .forEach(b -> {
                    ServerBinding first = byKey.putIfAbsent(b.siderolink().publicKey(), b);
                    if (first != null) {
                        log.warn("server bindings {} and {} have the same public key; only {} gets the peer", first.uuid(), b.uuid(), first.uuid());
                    }
                });
        return byKey;
    }

    private void dropDownPeers(Map<String, ServerBinding> byKey, Map<String, WgDump.Peer> current, Instant now) {
        Instant since = device.configuredAt();
        if (since != null && now.isBefore(since.plus(Connectivity.PEER_DOWN_AFTER))) {
            return; // no verdict until the interface has been up long enough to see a handshake
        }
        byKey.values().removeIf(binding -> {
            if (removedAsDown.contains(binding.uuid())) {
                return true;
            }
            WgDump.Peer peer = current.get(binding.siderolink().publicKey());
            if (peer != null && !Connectivity.isConnected(peer.latestHandshake(), now)) {
                removedAsDown.add(binding.uuid());
                log.info("removing down peer of server {} (no handshake for {} s) until it provisions again",
                        binding.uuid(), Connectivity.PEER_DOWN_AFTER.toSeconds());
                return true;
            }
            return false;
        });
    }

    /** Parses a stored address once per distinct text, reusing the last pass's result. */
    private Optional<IPv6Address> parse(String stored, Map<String, Optional<IPv6Address>> parsedLastPass) {
        Optional<IPv6Address> address = parsedAddresses.get(stored);
        if (address == null) {
            address = parsedLastPass.get(stored);
            if (address == null) {
                address = SiderolinkNetwork.parseStored(stored);
            }
            parsedAddresses.put(stored, address);
        }
        return address;
    }

    /** A desired binding's address, parsed by {@link #desiredBindings} in this pass. */
    private IPv6Address address(ServerBinding binding) {
        return parsedAddresses.get(binding.siderolink().address()).orElseThrow();
    }

    /**
     * The binding's allowed IP, {@code addr/128}, spelled as {@code wg show} prints it (RFC 5952:
     * a single zero group is written {@code 0}, not compressed to {@code ::}), so that an
     * unchanged peer compares equal as text. Should the peer's current allowed IP be the same
     * address spelled otherwise, that spelling is kept: it is no change.
     */
    private String allowedIp(ServerBinding binding, WgDump.Peer current) {
        IPv6Address address = address(binding);
        String wanted = address.toCanonicalString() + "/128";
        if (current != null && current.allowedIps().size() == 1 && !current.allowedIps().get(0).equals(wanted)) {
            String have = current.allowedIps().get(0);
            IPAddress parsed = new IPAddressString(have).getAddress();
            if (parsed != null && parsed.isIPv6() && Integer.valueOf(128).equals(parsed.getNetworkPrefixLength())
                    && parsed.withoutPrefixLength().equals(address)) {
                return have;
            }
        }
        return wanted;
    }

    public Instant lastSuccess() {
        return lastSuccess;
    }

    public String lastError() {
        return lastError;
    }

    /** When the latest pass ended, successful or not; null before the first. */
    public Instant lastPassEnded() {
        return lastPassEnded;
    }

    /** When the loop started; null while it is not running. */
    Instant startedAt() {
        return running ? startedAt : null;
    }

    Duration interval() {
        return interval;
    }


    @Override
    public void start() {
        // On the caller's thread: a start-up failure (no wireguard-go, no CAP_NET_ADMIN) fails start-up.
        try {
            device.ensure();
        } catch (CommandException e) {
            throw explain(device.name(), e);
        }
        startedAt = clock.instant();
        running = true;
        subscriptions.add(store.events().subscribe(event -> requestPass()));
        subscriptions.add(Flux.interval(Duration.ZERO, interval, thread).onBackpressureDrop().subscribe(tick -> requestPass()));
    }

    /** A failed interface set-up as one sentence and what to do about it. */
    static StartupProblem explain(String iface, CommandException e) {
        String action = e.kind() == CommandException.Kind.NOT_FOUND
                ? "Install the missing tool: apt-get install wireguard-tools wireguard-go iproute2 (Debian packages wireguard-tools, wireguard-go, iproute2)."
                : "Run with root or CAP_NET_ADMIN and /dev/net/tun (the chart's link container has both), or check siderolink.wireguard.userspace.";
        return new StartupProblem("Cannot set up the WireGuard interface " + iface + ": " + e.getMessage(), action, e);
    }

    @Override
    public void stop() {
        running = false;
        subscriptions.dispose();
        thread.disposeGracefully().block(Duration.ofSeconds(10));
        device.close();
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        // after the store's watch (so the first pass sees the bindings), before the gRPC server
        return Integer.MIN_VALUE + 2000;
    }
}
