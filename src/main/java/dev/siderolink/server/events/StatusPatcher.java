package dev.siderolink.server.events;

import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import inet.ipaddr.IPAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * Applies status events to ServerBindings and mirrors the result onto their MetalMachines.
 *
 * <p>Per server, one write is in flight at a time; events that arrive meanwhile are queued and
 * then folded, in arrival order, into a single write (a burst costs one or two patches, not one
 * per event). Servers do not wait for each other. Each caller's signal completes when the write
 * that contains its event is done (or fails), so the gRPC answer tells the node the truth.
 */
final class StatusPatcher {

    private final ResourceStore store;
    private final StatusRules rules;
    private final EventMetrics metrics;
    private final Clock clock;
    private final Map<String, ServerQueue> queues = new ConcurrentHashMap<>();

    StatusPatcher(ResourceStore store, StatusRules rules, EventMetrics metrics, Clock clock) {
        this.store = store;
        this.rules = rules;
        this.metrics = metrics;
        this.clock = clock;
    }

    private record Pending(TalosEvent event, IPAddress tunnelAddress, long startNanos, MonoSink<Void> sink) {}

    private static final class ServerQueue {
        final List<Pending> pending = new ArrayList<>();
        boolean busy;
    }

    /** Completes when the event's effect is stored; fails with the store's error. */
    Mono<Void> apply(String uuid, TalosEvent event, IPAddress tunnelAddress) {
        return Mono.create(sink -> {
            ServerQueue queue = queues.computeIfAbsent(uuid, u -> new ServerQueue());
            boolean start;
            synchronized (queue) {
                queue.pending.add(new Pending(event, tunnelAddress, System.nanoTime(), sink));
                start = !queue.busy;
                queue.busy = true;
            }
            if (start) {
                drain(uuid, queue);
            }
        });
    }

    /** Forgets a deleted server's queue (only when idle: a busy one ends by itself). */
    void forget(String uuid) {
        queues.computeIfPresent(uuid, (u, q) -> {
            synchronized (q) {
                return q.busy ? q : null;
            }
        });
    }

    private void drain(String uuid, ServerQueue queue) {
        List<Pending> batch;
        synchronized (queue) {
            if (queue.pending.isEmpty()) {
                queue.busy = false;
                return;
            }
            batch = List.copyOf(queue.pending);
            queue.pending.clear();
        }
        Instant now = clock.instant();
        store.updateReportAndMirror(uuid, current -> fold(current, batch, now), (binding, status) -> mirrored(status, binding))
                .doOnNext(result -> {
                    if (Boolean.FALSE.equals(result.metalMachineFound())) {
                        metrics.failed(EventMetrics.Failure.METALMACHINE_NOT_FOUND);
                    }
                })
                .subscribe(
                        ignored -> {},
                        error -> {
                            batch.forEach(p -> p.sink().error(error));
                            drain(uuid, queue);
                        },
                        () -> {
                            metrics.patched(batch.size());
                            for (Pending p : batch) {
                                metrics.applied(System.nanoTime() - p.startNanos());
                                p.sink().success();
                            }
                            drain(uuid, queue);
                        });
    }

    private NodeReport fold(NodeReport current, List<Pending> batch, Instant now) {
        NodeReport report = current;
        for (Pending p : batch) {
            report = rules.apply(report, p.event(), p.tunnelAddress(), now);
        }
        return report;
    }

    /** The Talos conditions and the addresses of {@code binding} copied onto its MetalMachine's status. */
    static MetalMachineStatus mirrored(MetalMachineStatus status, ServerBinding binding) {
        List<Condition> conditions = status.conditions();
        for (Condition condition : binding.conditions()) {
            if (StatusRules.TYPES.contains(condition.type())) {
                Condition existing = Condition.find(conditions, condition.type());
                if (!condition.equals(existing)) {
                    conditions = replace(conditions, condition);
                }
            }
        }
        List<MetalMachineStatus.Address> addresses = status.addresses();
        if (binding.addresses() != null || binding.hostname() != null) {
            addresses = new ArrayList<>();
            for (String address : binding.addresses() == null ? List.<String>of() : binding.addresses()) {
                addresses.add(new MetalMachineStatus.Address(MetalMachineStatus.Address.INTERNAL_IP, address));
            }
            if (binding.hostname() != null && !binding.hostname().isEmpty()) {
                addresses.add(new MetalMachineStatus.Address(MetalMachineStatus.Address.HOSTNAME, binding.hostname()));
            }
        }
        return new MetalMachineStatus(conditions, addresses);
    }

    /** The binding's condition copied as is (its lastTransitionTime included: it is the same transition). */
    private static List<Condition> replace(List<Condition> conditions, Condition condition) {
        List<Condition> result = new ArrayList<>(conditions.size() + 1);
        boolean replaced = false;
        for (Condition c : conditions) {
            if (c.type().equals(condition.type())) {
                result.add(condition);
                replaced = true;
            } else {
                result.add(c);
            }
        }
        if (!replaced) {
            result.add(condition);
        }
        return result;
    }
}
