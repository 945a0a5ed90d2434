package dev.siderolink.server.events;

import dev.siderolink.api.events.EventRequest;
import dev.siderolink.server.events.EventMetrics.Failure;
import dev.siderolink.server.grpc.PeerAddress;
import dev.siderolink.server.history.RecordedEvent;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.Annotation;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.StoreUnavailableException;
import dev.siderolink.server.output.LineChunk;
import dev.siderolink.server.output.LineWriter;
import inet.ipaddr.IPAddress;
import inet.ipaddr.ipv6.IPv6Address;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

/**
 * What happens to one published event: decode, recognise a replay, apply its status effect (when
 * it has one), print its line, and decide the answer. The answer is the contract with Talos, which
 * re-sends an event until it gets OK and holds back every later one meanwhile:
 *
 * <ul>
 *   <li>OK: the event is applied, printed, or can never be (unknown type, undecodable bytes, a
 *       sender that has no binding for longer than the grace period, a binding deleted meanwhile).
 *   <li>UNAVAILABLE ({@link Retry}): it may work later (store unavailable, a just-provisioned node
 *       whose binding the directory has not seen yet); the node replays it, which is safe because
 *       applying is idempotent and replays are recognised.
 * </ul>
 */
final class EventHandler {

    private static final Logger log = LoggerFactory.getLogger(EventHandler.class);
    private static final int UNBOUND_MEMORY = 4096;

    /** The node should send the event again later. */
    static final class Retry extends RuntimeException {
        Retry(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    private final BindingDirectory directory;
    private final SiderolinkNetwork network;
    private final StatusPatcher patcher;
    private final ReplayMemory replays;
    private final LineWriter writer;
    private final EventMetrics metrics;
    private final Clock clock;
    private final Duration unboundGrace;
    private final ServerHistories history; // null: none kept
    // First time an address inside the prefix published a status event without a binding.
    private final Map<String, Instant> unboundSince = java.util.Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Instant> eldest) {
            return size() > UNBOUND_MEMORY;
        }
    });

    EventHandler(BindingDirectory directory, SiderolinkNetwork network, StatusPatcher patcher, ReplayMemory replays, LineWriter writer,
            EventMetrics metrics, Clock clock, Duration unboundGrace) {
        this(directory, network, patcher, replays, writer, metrics, clock, unboundGrace, null);
    }

    EventHandler(BindingDirectory directory, SiderolinkNetwork network, StatusPatcher patcher, ReplayMemory replays, LineWriter writer,
            EventMetrics metrics, Clock clock, Duration unboundGrace, ServerHistories history) {
        this.history = history;
        this.directory = directory;
        this.network = network;
        this.patcher = patcher;
        this.replays = replays;
        this.writer = writer;
        this.metrics = metrics;
        this.clock = clock;
        this.unboundGrace = unboundGrace;
    }

    /** Completes when the event is handled (answer OK); fails with {@link Retry} for UNAVAILABLE. */
    Mono<Void> handle(InetSocketAddress peer, EventRequest request) {
        Instant received = clock.instant();
        TalosEvent event = TalosEvent.decode(request);
        metrics.received(event);
        Annotation annotation = directory.lookup(peer.getAddress());
        String node = PeerAddress.format(peer);
        if (!event.decoded()) {
            metrics.failed(event.kind() == null ? Failure.UNKNOWN_TYPE : Failure.UNDECODABLE);
            log.debug("event {} from {}: {} ({}), answered OK", event.id(), node, event.kind() == null ? "unknown type" : "undecodable",
                    event.typeUrl());
            return print(peer, request, event, received, node, annotation);
        }
        String uuid = annotation.serverUuid();
        if (uuid != null && replays.seen(uuid, event.id())) {
            metrics.replayed();
            return Mono.empty();
        }
        if (!StatusRules.affectsStatus(event)) {
            return print(peer, request, event, received, node, annotation).doOnSuccess(v -> remember(uuid, event));
        }
        if (uuid == null) {
            return unbound(peer, request, event, received, node, annotation);
        }
        unboundSince.remove(peer.getAddress().getHostAddress());
        IPAddress tunnel = new IPv6Address(peer.getAddress().getAddress());
        return patcher.apply(uuid, event, tunnel)
                .onErrorResume(BindingNotFoundException.class, e -> {
                    metrics.failed(Failure.BINDING_NOT_FOUND);
                    log.info("event {} from {}: server binding {} is gone; answered OK", event.id(), node, uuid);
                    return Mono.empty();
                })
                .onErrorMap(StoreUnavailableException.class, e -> {
                    metrics.failed(Failure.STORE_UNAVAILABLE);
                    log.warn("event {} from {} (server {}) not applied, the node will send it again: {}", event.id(), node, uuid, e.getMessage());
                    return new Retry("state store unavailable, retry later", e);
                })
                .onErrorMap(e -> !(e instanceof Retry), e -> {
                    metrics.failed(Failure.INTERNAL);
                    log.error("event {} from {} (server {}) failed; the node will send it again", event.id(), node, uuid, e);
                    return new Retry("internal error, retry later", e);
                })
                .then(Mono.defer(() -> print(peer, request, event, received, node, annotation)))
                .doOnSuccess(v -> remember(uuid, event));
    }

    private Mono<Void> unbound(InetSocketAddress peer, EventRequest request, TalosEvent event, Instant received, String node, Annotation annotation) {
        String key = peer.getAddress().getHostAddress();
        if (network.contains(peer.getAddress())) {
            Instant since = unboundSince.computeIfAbsent(key, k -> received);
            if (Duration.between(since, received).compareTo(unboundGrace) < 0) {
                // Right after Provision the directory may not have the binding yet: let the node come back.
                metrics.failed(Failure.UNBOUND_NODE_RETRY);
                return Mono.error(new Retry("no server binding for " + node + " yet, retry later", null));
            }
        }
        metrics.failed(Failure.UNBOUND_NODE);
        log.info("status event {} from {}: no server binding holds this address; printed, not applied, answered OK", event.id(), node);
        return print(peer, request, event, received, node, annotation);
    }

    private void remember(String uuid, TalosEvent event) {
        if (uuid != null) {
            replays.remember(uuid, event.id());
        }
    }

    private Mono<Void> print(InetSocketAddress peer, EventRequest request, TalosEvent event, Instant received, String node, Annotation annotation) {
        byte[] line = EventLine.format(event, received, node, annotation);
        Mono<Void> printed = writer.submit(new LineChunk(line, line.length, 1, metrics.stream()));
        String uuid = annotation.serverUuid();
        if (history == null || uuid == null) {
            return printed;
        }
        // Kept once accepted for the stream: the history serves the same line, and the payload as received.
        return printed.doOnSuccess(v -> history.record(new RecordedEvent(uuid, PeerAddress.host(peer.getAddress()), event.id(), event.actorId(), event.typeUrl(),
                request.getData().getValue().toByteArray(), received), line));
    }

    /** Forgets what was kept for a deleted server. */
    void forget(String uuid) {
        replays.forget(uuid);
        patcher.forget(uuid);
    }
}
