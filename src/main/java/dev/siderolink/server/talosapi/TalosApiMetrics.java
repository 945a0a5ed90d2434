package dev.siderolink.server.talosapi;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;

/** Meters of the Talos API; registered with the component, so they exist before the first call. */
final class TalosApiMetrics {

    static final String STREAMS = "siderolink.talosapi.streams";
    static final String DROPPED = "siderolink.talosapi.events.dropped";

    private final AtomicInteger openStreams = new AtomicInteger();
    private final Counter dropped;

    TalosApiMetrics(MeterRegistry registry) {
        Gauge.builder(STREAMS, openStreams, AtomicInteger::get).description("open talosctl events streams").register(registry);
        dropped = Counter.builder(DROPPED).description("live events not sent to a talosctl client that read too slowly").register(registry);
    }

    AtomicInteger openStreams() {
        return openStreams;
    }

    Counter dropped() {
        return dropped;
    }
}
