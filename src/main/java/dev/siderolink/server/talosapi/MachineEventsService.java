package dev.siderolink.server.talosapi;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import dev.siderolink.server.history.EventHistory;
import dev.siderolink.server.history.RecordedEvent;
import dev.siderolink.server.inventory.ResourceStore;
import dev.talos.api.common.Metadata;
import dev.talos.api.machine.Event;
import dev.talos.api.machine.EventsRequest;
import dev.talos.api.machine.MachineServiceGrpc;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.reactivestreams.Subscription;
import reactor.core.Disposable;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.util.concurrent.Queues;

/**
 * {@code machine.MachineService/Events} as apid serves it to {@code talosctl events}: the hello
 * event, then the history the request asks for, then live events until the client goes away.
 *
 * <p>Flow control: the stream sends only while the client's transport is ready (one event
 * requested at a time). Live events wait in a per-call queue of {@link #LIVE_QUEUE} events; when a
 * client reads slower than events arrive, the newest ones beyond that are dropped and counted
 * ({@code siderolink_talosapi_events_dropped_total}); the event sink never waits for a client.
 */
final class MachineEventsService extends MachineServiceGrpc.MachineServiceImplBase {

    static final String TYPE_URL_PREFIX = "talos/runtime/machine.";
    static final int LIVE_QUEUE = 1024;

    /** The call's node selection, resolved from its metadata by {@link #selectionInterceptor}. */
    private static final Context.Key<NodeSelection> SELECTION = Context.key("talos-node-selection");

    private final EventHistory history;
    private final ResourceStore store;
    private final Clock clock;
    private final Xid xids;
    private final AtomicInteger open;
    private final Counter dropped;

    MachineEventsService(EventHistory history, ResourceStore store, Clock clock, Xid xids, TalosApiMetrics metrics) {
        this.history = history;
        this.store = store;
        this.clock = clock;
        this.xids = xids;
        this.open = metrics.openStreams();
        this.dropped = metrics.dropped();
    }

    /** Reads {@code node}/{@code nodes} before the call starts; refuses bad or unknown nodes. */
    ServerInterceptor selectionInterceptor() {
        return new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, io.grpc.Metadata headers, ServerCallHandler<Q, R> next) {
                NodeSelection selection;
                try {
                    selection = NodeSelection.resolve(headers, store);
                } catch (StatusRuntimeException e) {
                    call.close(e.getStatus(), new io.grpc.Metadata());
                    return new ServerCall.Listener<>() {};
                }
                return Contexts.interceptCall(Context.current().withValue(SELECTION, selection), call, headers, next);
            }
        };
    }

    @Override
    public void events(EventsRequest request, StreamObserver<Event> responses) {
        ServerCallStreamObserver<Event> out = (ServerCallStreamObserver<Event>) responses;
        Predicate<RecordedEvent> wanted;
        try {
            wanted = validate(request);
        } catch (StatusRuntimeException e) {
            out.onError(e);
            return;
        }
        NodeSelection selection = SELECTION.get() == null ? NodeSelection.ALL : SELECTION.get();
        Predicate<RecordedEvent> selected = e -> selection.includes(e.serverUuid()) && wanted.test(e);

        // Live events are queued from before the history snapshot, so none falls between the two.
        Sinks.Many<RecordedEvent> liveQueue = Sinks.many().unicast().onBackpressureBuffer(Queues.<RecordedEvent>get(LIVE_QUEUE).get());
        Disposable liveSubscription = history.live().filter(selected).subscribe(e -> {
            if (liveQueue.tryEmitNext(e).isFailure()) {
                dropped.increment();
            }
        });
        List<RecordedEvent> past = past(request, selection, selected);
        Set<String> sent = new HashSet<>();
        past.forEach(e -> sent.add(key(e)));

        Event hello = Event.newBuilder()
                .setData(Any.getDefaultInstance())
                .setId(xids.next(clock.instant()))
                .setActorId(request.getWithActorId())
                .build();
        Flux<Event> stream = Flux.concat(
                Flux.just(hello),
                Flux.fromIterable(past).map(e -> toEvent(e, selection)),
                liveQueue.asFlux().filter(e -> sent.isEmpty() || !sent.contains(key(e))).map(e -> toEvent(e, selection)));
        open.incrementAndGet();
        StreamSubscriber subscriber = new StreamSubscriber(out, () -> {
            liveSubscription.dispose();
            open.decrementAndGet();
        });
        out.setOnCancelHandler(subscriber::cancelled);
        out.setOnReadyHandler(subscriber::pump);
        stream.subscribe(subscriber);
    }

    /** Checks the tail fields and returns the actor filter (INVALID_ARGUMENT for bad requests). */
    private static Predicate<RecordedEvent> validate(EventsRequest request) {
        int tails = (request.getTailEvents() != 0 ? 1 : 0) + (request.getTailId().isEmpty() ? 0 : 1) + (request.getTailSeconds() != 0 ? 1 : 0);
        if (tails > 1) {
            throw Status.INVALID_ARGUMENT.withDescription("only one of tail_events, tail_id and tail_seconds may be set").asRuntimeException();
        }
        if (!request.getTailId().isEmpty()) {
            try {
                Xid.decode(request.getTailId());
            } catch (IllegalArgumentException e) {
                throw Status.INVALID_ARGUMENT.withDescription("tail_id \"" + request.getTailId() + "\" is not an event id: " + e.getMessage()).asRuntimeException();
            }
        }
        String actor = request.getWithActorId();
        return actor.isEmpty() ? e -> true : e -> actor.equals(e.actorId());
    }

    /** The history the request asks for, oldest first, after node and actor filtering. */
    private List<RecordedEvent> past(EventsRequest request, NodeSelection selection, Predicate<RecordedEvent> selected) {
        if (request.getTailEvents() == 0 && request.getTailId().isEmpty() && request.getTailSeconds() == 0) {
            return List.of();
        }
        List<RecordedEvent> source = selection.servers() != null && selection.servers().size() == 1
                ? history.events(selection.servers().keySet().iterator().next())
                : history.all();
        List<RecordedEvent> matching = new ArrayList<>();
        for (RecordedEvent e : source) {
            if (selected.test(e)) {
                matching.add(e);
            }
        }
        if (request.getTailEvents() > 0) {
            return List.copyOf(matching.subList(Math.max(0, matching.size() - request.getTailEvents()), matching.size()));
        }
        if (!request.getTailId().isEmpty()) {
            String after = request.getTailId();
            return matching.stream().filter(e -> e.id().compareTo(after) > 0).toList();
        }
        if (request.getTailSeconds() != 0) {
            long since = clock.instant().getEpochSecond() - request.getTailSeconds();
            return matching.stream().filter(e -> Xid.epochSecondOrMinus1(e.id()) >= since).toList();
        }
        return matching; // negative tail_events: everything kept
    }

    private static String key(RecordedEvent e) {
        return e.serverUuid() + '/' + e.id();
    }

    static Event toEvent(RecordedEvent e, NodeSelection selection) {
        Event.Builder event = Event.newBuilder()
                .setData(Any.newBuilder().setTypeUrl(typeUrl(e.typeUrl())).setValue(ByteString.copyFrom(e.payload())))
                .setId(e.id())
                .setActorId(e.actorId());
        if (selection.tagHostname()) {
            event.setMetadata(Metadata.newBuilder().setHostname(selection.servers().getOrDefault(e.serverUuid(), e.serverUuid())));
        }
        return event.build();
    }

    /** Nodes publish {@code type.googleapis.com/machine.X}; apid's stream says {@code talos/runtime/machine.X}. */
    static String typeUrl(String received) {
        String name = received.substring(received.lastIndexOf('/') + 1);
        return name.startsWith("machine.") ? TYPE_URL_PREFIX + name.substring("machine.".length()) : received;
    }

    /** Sends one event at a time, only while the transport is ready; ends with the call. */
    private static final class StreamSubscriber extends BaseSubscriber<Event> {
        private final ServerCallStreamObserver<Event> out;
        private final Runnable cleanup;
        private final AtomicBoolean outstanding = new AtomicBoolean();
        private final AtomicBoolean done = new AtomicBoolean();

        StreamSubscriber(ServerCallStreamObserver<Event> out, Runnable cleanup) {
            this.out = out;
            this.cleanup = cleanup;
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            pump();
        }

        void pump() {
            if (done.get() || upstream() == null) {
                return;
            }
            if (out.isReady() && outstanding.compareAndSet(false, true)) {
                request(1);
            }
        }

        @Override
        protected void hookOnNext(Event event) {
            if (done.get()) {
                return;
            }
            out.onNext(event);
            outstanding.set(false);
            pump();
        }

        @Override
        protected void hookOnComplete() {
            finish();
            out.onCompleted();
        }

        @Override
        protected void hookOnError(Throwable error) {
            finish();
            out.onError(Status.INTERNAL.withDescription("event stream failed: " + error.getMessage()).asRuntimeException());
        }

        void cancelled() {
            finish();
            cancel();
        }

        private void finish() {
            if (done.compareAndSet(false, true)) {
                cleanup.run();
            }
        }
    }
}
