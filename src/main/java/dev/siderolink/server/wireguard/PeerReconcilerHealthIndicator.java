package dev.siderolink.server.wireguard;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/**
 * The link's liveness: the reconcile loop keeps finishing passes, successful or not. Failing
 * passes are its normal way of coping (the next one tries again); a loop that no longer finishes
 * any (its thread stuck, its ticks gone) never recovers, and then peers are no longer added or
 * removed: that is what a restart is for.
 *
 * <p>Stalled means no pass ended for {@link #stallAfter}: ten intervals, and at least 5 minutes,
 * because one pass may legitimately take minutes: each command it runs has a timeout (10 s for
 * {@code wg show} and {@code ip}, 10 s for wireguard-go to come up when the interface is recreated,
 * 60 s per {@code wg set} batch), about 2.5 minutes in the worst case with one batch.
 */
final class PeerReconcilerHealthIndicator implements HealthIndicator {

    static final Duration MIN_STALL = Duration.ofMinutes(5);

    private final PeerReconciler reconciler;
    private final Clock clock;

    PeerReconcilerHealthIndicator(PeerReconciler reconciler, Clock clock) {
        this.reconciler = reconciler;
        this.clock = clock;
    }

    static Duration stallAfter(Duration interval) {
        Duration tenIntervals = interval.multipliedBy(10);
        return tenIntervals.compareTo(MIN_STALL) > 0 ? tenIntervals : MIN_STALL;
    }

    @Override
    public Health health() {
        Instant started = reconciler.startedAt();
        Instant ended = reconciler.lastPassEnded();
        Duration stallAfter = stallAfter(reconciler.interval());
        Health.Builder health;
        if (started == null) {
            health = Health.down().withDetail("reason", "the reconcile loop is not running");
        } else {
            Instant heartbeat = ended != null && ended.isAfter(started) ? ended : started;
            Duration quiet = Duration.between(heartbeat, clock.instant());
            health = quiet.compareTo(stallAfter) < 0 ? Health.up()
                    : Health.down().withDetail("reason", "no reconcile pass has ended for " + quiet.toSeconds() + " s (stalled after "
                            + stallAfter.toSeconds() + " s): peers are no longer kept in step with the bindings");
        }
        Instant success = reconciler.lastSuccess();
        health.withDetail("interval", reconciler.interval().toString())
                .withDetail("lastPassEnded", ended == null ? "never" : ended.toString())
                .withDetail("lastSuccess", success == null ? "never" : success.toString());
        if (reconciler.lastError() != null) {
            health.withDetail("lastError", reconciler.lastError());
        }
        return health.build();
    }
}
