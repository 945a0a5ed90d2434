package dev.siderolink.server.wireguard;

import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Each server's link as the dump shows it (last handshake, endpoint, transfer counters), exposed
 * as metrics, and its transitions recorded as the {@code SideroLinkConnected} condition of the
 * ServerBinding.
 *
 * <p>A node is connected while its last handshake is younger than 275 s = REJECT_AFTER_TIME (180 s)
 * + REKEY_TIMEOUT (5 s) + REKEY_ATTEMPT_TIME (90 s) of the WireGuard protocol: a live tunnel with
 * keepalives rekeys well within that. Talos and the siderolink library use the same 275 s.
 */
public class Connectivity {

    private static final Logger log = LoggerFactory.getLogger(Connectivity.class);
    public static final Duration PEER_DOWN_AFTER = Duration.ofSeconds(180 + 5 + 90);
    public static final String CONDITION = "SideroLinkConnected";
    static final String DISCONNECTED_REASON = "SideroLinkDisconnected";

    /** One server's link. */
    public record PeerStatus(String uuid, String publicKey, String endpoint, Instant lastHandshake, long rxBytes, long txBytes, boolean connected) {}

    private final ResourceStore store;
    private final MeterRegistry registry;
    /** Per-server gauges, registered once per server and removed when it goes: not re-registered every pass. */
    private final Map<String, ServerMeters> serverMeters = new ConcurrentHashMap<>();
    private final AtomicInteger peers = new AtomicInteger();
    private final AtomicInteger connectedPeers = new AtomicInteger();
    private final Counter transitions;
    private final Counter patchFailures;
    private volatile Map<String, PeerStatus> byUuid = Map.of();
    private final Map<String, Boolean> pending = new ConcurrentHashMap<>();

    public Connectivity(ResourceStore store, MeterRegistry registry) {
        this.store = store;
        this.registry = registry;
        Gauge.builder("siderolink.wireguard.peers", peers, AtomicInteger::get).description("Peers on the WireGuard interface").register(registry);
        Gauge.builder("siderolink.wireguard.peers.connected", connectedPeers, AtomicInteger::get)
                .description("Peers with a handshake younger than 275 s").register(registry);
        transitions = Counter.builder("siderolink.wireguard.connectivity.transitions")
                .description("SideroLinkConnected condition changes written").register(registry);
        patchFailures = Counter.builder("siderolink.wireguard.connectivity.patch.failures")
                .description("SideroLinkConnected condition writes that failed (retried on the next pass)").register(registry);
    }

    /** The latest status of every server with a peer. */
    public Map<String, PeerStatus> peers() {
        return byUuid;
    }

    /** Peers on the interface at the last pass (the {@code siderolink.wireguard.peers} gauge). */
    public int peerCount() {
        return peers.get();
    }

    /** Peers with a fresh handshake at the last pass (the {@code siderolink.wireguard.peers.connected} gauge). */
    public int connectedCount() {
        return connectedPeers.get();
    }

    /**
     * Recomputes from a dump. {@code bindingsByKey}: the desired peers' bindings by public key.
     * Disconnection is only concluded once the interface has been up for 275 s: before that, a
     * missing handshake says nothing (the server, not the node, just restarted).
     */
    void update(WgDump dump, Map<String, ServerBinding> bindingsByKey, Instant now, Instant interfaceSince) {
        Map<String, PeerStatus> next = new HashMap<>();
        int connected = 0;
        boolean judged = interfaceSince == null || !now.isBefore(interfaceSince.plus(PEER_DOWN_AFTER));
        for (WgDump.Peer peer : dump.peers()) {
            ServerBinding binding = bindingsByKey.get(peer.publicKey());
            if (binding == null) {
                continue;
            }
            boolean up = isConnected(peer.latestHandshake(), now);
            connected += up ? 1 : 0;
            PeerStatus status = new PeerStatus(binding.uuid(), peer.publicKey(), peer.endpoint(), peer.latestHandshake(), peer.rxBytes(), peer.txBytes(), up);
            next.put(binding.uuid(), status);
            serverMeters.computeIfAbsent(binding.uuid(), this::register).set(status, now);
            if (up || judged) {
                record(binding, up, now);
            }
        }
        byUuid = Map.copyOf(next);
        peers.set(dump.peers().size());
        connectedPeers.set(connected);
        serverMeters.keySet().removeIf(uuid -> {
            if (next.containsKey(uuid)) {
                return false;
            }
            serverMeters.get(uuid).meters.forEach(registry::remove);
            return true;
        });
    }

    /** One server's gauges and the values they read. */
    private static final class ServerMeters {
        final List<Meter> meters = new ArrayList<>(4);
        volatile double handshakeAge = Double.NaN;
        volatile double received;
        volatile double sent;
        volatile double connected;

        void set(PeerStatus status, Instant now) {
            handshakeAge = status.lastHandshake() == null ? Double.NaN : Duration.between(status.lastHandshake(), now).toSeconds();
            received = status.rxBytes();
            sent = status.txBytes();
            connected = status.connected() ? 1 : 0;
        }
    }

    private ServerMeters register(String uuid) {
        ServerMeters m = new ServerMeters();
        Tags tags = Tags.of("server_uuid", uuid);
        m.meters.add(Gauge.builder("siderolink.wireguard.peer.handshake.age", m, x -> x.handshakeAge).tags(tags).baseUnit("seconds")
                .description("Seconds since the server's last WireGuard handshake (NaN before the first)").register(registry));
        m.meters.add(Gauge.builder("siderolink.wireguard.peer.received", m, x -> x.received).tags(tags).baseUnit("bytes")
                .description("Bytes received from the server").register(registry));
        m.meters.add(Gauge.builder("siderolink.wireguard.peer.sent", m, x -> x.sent).tags(tags).baseUnit("bytes")
                .description("Bytes sent to the server").register(registry));
        m.meters.add(Gauge.builder("siderolink.wireguard.peer.connected", m, x -> x.connected).tags(tags)
                .description("1 while the server's tunnel is up").register(registry));
        return m;
    }

    static boolean isConnected(Instant lastHandshake, Instant now) {
        return lastHandshake != null && Duration.between(lastHandshake, now).compareTo(PEER_DOWN_AFTER) < 0;
    }

    /** Writes the condition when its stored status differs: transitions only, never a rewrite. */
    private void record(ServerBinding binding, boolean up, Instant now) {
        Condition stored = Condition.find(binding.conditions(), CONDITION);
        String wanted = up ? Condition.TRUE : Condition.FALSE;
        if (stored != null && wanted.equals(stored.status())) {
            return;
        }
        if (pending.putIfAbsent(binding.uuid(), up) != null) {
            return; // a write for this server is under way; the next pass looks again
        }
        Condition condition = up ? Condition.isTrue(CONDITION)
                : Condition.isFalse(CONDITION, DISCONNECTED_REASON, "Warning", "no WireGuard handshake for " + PEER_DOWN_AFTER.toSeconds() + " s");
        store.updateConditions(binding.uuid(), conditions -> Condition.set(conditions, condition, now))
                .doFinally(signal -> pending.remove(binding.uuid()))
                .subscribe(
                        updated -> {
                            transitions.increment();
                            log.info("server {} SideroLink {}", binding.uuid(), up ? "connected" : "disconnected");
                        },
                        error -> {
                            patchFailures.increment();
                            log.warn("cannot record SideroLinkConnected={} on server binding {}: {}", wanted, binding.uuid(), error.getMessage());
                        });
    }
}
