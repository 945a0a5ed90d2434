package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The per-server history of events and kernel log lines, kept in memory for the HTTP API and
 * {@code talosctl events}.
 *
 * @param eventsPerServer most recent events kept per server (Talos' own event buffer holds 1000)
 * @param logLinesPerServer most recent annotated kernel log lines kept per server
 * @param maxBytes memory for all histories together; over it, the oldest entries of the largest
 *     histories go first
 * @param subscriberBuffer entries queued for one follower ({@code follow=true}, {@code talosctl
 *     events}) that reads slower than they arrive; beyond it, new entries are dropped for that
 *     follower and counted
 */
@Validated
@ConfigurationProperties("siderolink.history")
public record HistoryProperties(
        @DefaultValue("1000") @Min(0) @Max(1_000_000) int eventsPerServer,
        @DefaultValue("5000") @Min(0) @Max(10_000_000) int logLinesPerServer,
        @DefaultValue("64MB") @NotNull DataSize maxBytes,
        @DefaultValue("4096") @Min(16) @Max(1_000_000) int subscriberBuffer) {

    public static final HistoryProperties DEFAULT = new HistoryProperties(1000, 5000, DataSize.ofMegabytes(64), 4096);
}
