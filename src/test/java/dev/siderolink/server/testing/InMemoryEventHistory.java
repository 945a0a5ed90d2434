package dev.siderolink.server.testing;

import dev.siderolink.server.history.EventHistory;
import dev.siderolink.server.history.RecordedEvent;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/** An unbounded {@link EventHistory} for tests: {@link #record} stores an event and emits it live. */
public class InMemoryEventHistory implements EventHistory {

    private final List<RecordedEvent> events = new ArrayList<>();
    // hot and dropping, as the contract asks: a subscriber that cannot keep up loses events
    private final Sinks.Many<RecordedEvent> live = Sinks.many().multicast().directBestEffort();

    public synchronized void record(RecordedEvent event) {
        events.add(event);
        live.emitNext(event, Sinks.EmitFailureHandler.busyLooping(java.time.Duration.ofSeconds(1)));
    }

    /** Stored without being emitted live (history from before anyone listened). */
    public synchronized void remember(RecordedEvent event) {
        events.add(event);
    }

    @Override
    public synchronized List<RecordedEvent> events(String serverUuid) {
        return events.stream().filter(e -> e.serverUuid().equals(serverUuid)).toList();
    }

    @Override
    public synchronized List<RecordedEvent> all() {
        return new ArrayList<>(events);
    }

    /** Subscribers of {@link #live()} now (a reader that went away must not stay subscribed). */
    public int liveSubscribers() {
        return live.currentSubscriberCount();
    }

    @Override
    public Flux<RecordedEvent> live() {
        return live.asFlux();
    }
}
