package dev.siderolink.server.history;

import java.util.List;
import reactor.core.publisher.Flux;

/**
 * The recent events of every server, in memory, and the events arriving now. Fed by the event
 * sink after an event is accepted; read by {@code talosctl events} (the MachineService) and the
 * HTTP API.
 */
public interface EventHistory {

    /** One server's stored events, oldest first (empty for an unknown server). */
    List<RecordedEvent> events(String serverUuid);

    /** Every server's stored events, in the order they were received. */
    List<RecordedEvent> all();

    /**
     * Events as they are recorded, all servers. Hot: a subscriber sees events recorded after it
     * subscribed; one that cannot keep up loses events (counted) rather than slowing the sink.
     */
    Flux<RecordedEvent> live();
}
