package dev.siderolink.server.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.HistoryProperties;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.springframework.util.unit.DataSize;
import reactor.test.StepVerifier;

class ServerHistoriesTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private static byte[] line(String server, int n) {
        return ("{\"msg\":\"line " + n + " of " + server + " padding padding padding padding\",\"server_uuid\":\"" + server + "\"}\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Entry e) {
        return new String(e.line(), StandardCharsets.UTF_8);
    }

    private static String text(byte[] line) {
        return new String(line, StandardCharsets.UTF_8);
    }

    private double counter(String name, String kind, String reason) {
        var search = registry.find(name).tag("kind", kind);
        if (reason != null) {
            search = search.tag("reason", reason);
        }
        return search.counter().count();
    }

    @Test
    void keepsTheLastLinesPerServerAndCountsWhatTheLimitRemoves() {
        ServerHistories histories = new ServerHistories(new HistoryProperties(10, 3, DataSize.ofMegabytes(1), 16), registry);
        byte[] two = concat(line("a", 1), line("a", 2));
        histories.recordLines("a", two, two.length);
        histories.recordLines("a", line("a", 3), line("a", 3).length);
        histories.recordLines("a", line("a", 4), line("a", 4).length);

        List<Entry> kept = histories.entries(Kind.LOGS, "a", -1);
        assertThat(kept).extracting(ServerHistoriesTest::text).containsExactly(text(line("a", 2)), text(line("a", 3)), text(line("a", 4)));
        assertThat(histories.entries(Kind.LOGS, "a", 2)).extracting(ServerHistoriesTest::text).containsExactly(text(line("a", 3)), text(line("a", 4)));
        assertThat(counter(ServerHistories.EVICTED, "logs", "count")).isEqualTo(1);
        assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "logs").gauge().value()).isEqualTo(3);
        assertThat(histories.entries(Kind.LOGS, "unknown", -1)).isEmpty();
    }

    @Test
    void budgetHoldsUnderAFloodFromManyServersAndTheLargestLoseTheirOldestFirst() {
        long budget = DataSize.ofMegabytes(2).toBytes();
        ServerHistories histories = new ServerHistories(new HistoryProperties(1000, 5000, DataSize.ofBytes(budget), 16), registry);
        // 500 quiet servers with 5 lines each, then 20 noisy ones flooding.
        for (int s = 0; s < 500; s++) {
            for (int n = 0; n < 5; n++) {
                byte[] l = line("quiet-" + s, n);
                histories.recordLines("quiet-" + s, l, l.length);
            }
        }
        long[] quietBytes = new long[500];
        for (int s = 0; s < 500; s++) {
            quietBytes[s] = histories.bytes("quiet-" + s);
        }
        for (int n = 0; n < 2000; n++) {
            for (int s = 0; s < 20; s++) {
                byte[] l = line("noisy-" + s, n);
                histories.recordLines("noisy-" + s, l, l.length);
                assertThat(histories.bytes()).isLessThanOrEqualTo(budget);
            }
        }
        assertThat(counter(ServerHistories.EVICTED, "logs", "budget")).isPositive();
        assertThat(registry.get(ServerHistories.MEMORY).gauge().value()).isEqualTo(histories.bytes()).isLessThanOrEqualTo(budget);
        for (int s = 0; s < 500; s++) {
            assertThat(histories.entries(Kind.LOGS, "quiet-" + s, -1)).as("quiet server %d keeps all its lines", s).hasSize(5);
            assertThat(histories.bytes("quiet-" + s)).isEqualTo(quietBytes[s]);
        }
        for (int s = 0; s < 20; s++) {
            List<Entry> noisy = histories.entries(Kind.LOGS, "noisy-" + s, -1);
            assertThat(noisy).as("noisy server %d was trimmed", s).hasSizeLessThan(2000).isNotEmpty();
            // The newest line is kept; what went were the oldest: the kept ones are consecutive up to the last.
            assertThat(text(noisy.get(noisy.size() - 1))).isEqualTo(text(line("noisy-" + s, 1999)));
            assertThat(text(noisy.get(0))).isEqualTo(text(line("noisy-" + s, 2000 - noisy.size())));
        }
        // Entries gauge agrees with what is stored.
        long stored = 0;
        for (int s = 0; s < 500; s++) {
            stored += histories.entries(Kind.LOGS, "quiet-" + s, -1).size();
        }
        for (int s = 0; s < 20; s++) {
            stored += histories.entries(Kind.LOGS, "noisy-" + s, -1).size();
        }
        assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "logs").gauge().value()).isEqualTo(stored);
    }

    @Test
    void concurrentRecordersFromManyServersEndWithinTheBudgetAndTheAccountsAgree() throws Exception {
        long budget = DataSize.ofKilobytes(512).toBytes();
        ServerHistories histories = new ServerHistories(new HistoryProperties(1000, 5000, DataSize.ofBytes(budget), 16), registry);
        var follower = histories.read(Kind.LOGS, "s-3", 0, true).subscribe();
        Thread[] threads = new Thread[6];
        for (int t = 0; t < threads.length; t++) {
            int id = t;
            threads[t] = new Thread(() -> {
                for (int n = 0; n < 5000; n++) {
                    String server = "s-" + ((n * 7 + id) % 500);
                    byte[] l = line(server, n);
                    histories.recordLines(server, l, l.length);
                    if (n % 50 == 0) {
                        histories.record(new RecordedEvent(server, "fd00::2", "id" + n, "", "t", new byte[100], Instant.EPOCH), l);
                    }
                }
            });
            threads[t].start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        follower.dispose();
        assertThat(histories.bytes()).isLessThanOrEqualTo(budget).isPositive();
        long sum = 0;
        long logs = 0;
        long events = 0;
        for (int s = 0; s < 500; s++) {
            sum += histories.bytes("s-" + s);
            logs += histories.entries(Kind.LOGS, "s-" + s, -1).size();
            events += histories.entries(Kind.EVENTS, "s-" + s, -1).size();
        }
        assertThat(sum).isEqualTo(histories.bytes());
        assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "logs").gauge().value()).isEqualTo(logs);
        assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "events").gauge().value()).isEqualTo(events);
        assertThat(counter(ServerHistories.EVICTED, "logs", "budget") + logs).isEqualTo(6 * 5000);
    }

    @Test
    void eventsAreKeptAsReceivedAndAllMergesServersInOrder() {
        ServerHistories histories = new ServerHistories(HistoryProperties.DEFAULT, registry);
        histories.record(event("a", "id1"), "{\"id\":\"id1\"}\n".getBytes(StandardCharsets.UTF_8));
        histories.record(event("b", "id2"), "{\"id\":\"id2\"}\n".getBytes(StandardCharsets.UTF_8));
        histories.record(event("a", "id3"), "{\"id\":\"id3\"}\n".getBytes(StandardCharsets.UTF_8));
        assertThat(histories.events("a")).extracting(RecordedEvent::id).containsExactly("id1", "id3");
        assertThat(histories.all()).extracting(RecordedEvent::id).containsExactly("id1", "id2", "id3");
        assertThat(histories.events("a").get(0).payload()).containsExactly(1, 2, 3);

        histories.forget("a");
        assertThat(histories.events("a")).isEmpty();
        assertThat(histories.all()).extracting(RecordedEvent::id).containsExactly("id2");
        assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "events").gauge().value()).isEqualTo(1);
    }

    @Test
    void followGetsTheTailThenNewEntriesWithoutGapOrRepeat() {
        ServerHistories histories = new ServerHistories(HistoryProperties.DEFAULT, registry);
        for (int n = 0; n < 3; n++) {
            histories.recordLines("a", line("a", n), line("a", n).length);
        }
        StepVerifier.create(histories.read(Kind.LOGS, "a", 2, true).map(ServerHistoriesTest::text))
                .expectNext(text(line("a", 1)), text(line("a", 2)))
                .then(() -> {
                    histories.recordLines("b", line("b", 0), line("b", 0).length);
                    histories.recordLines("a", line("a", 3), line("a", 3).length);
                })
                .expectNext(text(line("a", 3)))
                .thenCancel()
                .verify(Duration.ofSeconds(5));
    }

    @Test
    void aFollowerThatDoesNotReadLosesEntriesCountedAndRecordingGoesOn() {
        ServerHistories histories = new ServerHistories(new HistoryProperties(10, 100, DataSize.ofMegabytes(1), 16), registry);
        AtomicInteger got = new AtomicInteger();
        // Requests one entry and never more.
        var stalled = histories.read(Kind.LOGS, "a", 0, true).subscribe(e -> got.incrementAndGet(), e -> {}, () -> {},
                s -> s.request(1));
        for (int n = 0; n < 10_000; n++) {
            histories.recordLines("a", line("a", n), line("a", n).length);
        }
        assertThat(histories.entries(Kind.LOGS, "a", -1)).hasSize(100);
        assertThat(text(histories.entries(Kind.LOGS, "a", 1).get(0))).isEqualTo(text(line("a", 9999)));
        assertThat(counter(ServerHistories.DROPPED, "logs", null)).isGreaterThan(9000);
        stalled.dispose();
        assertThat(got.get()).isLessThanOrEqualTo(1);
    }

    private static RecordedEvent event(String server, String id) {
        return new RecordedEvent(server, "fd00::2", id, "", "type.googleapis.com/machine.SequenceEvent", new byte[] {1, 2, 3}, Instant.EPOCH);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = new byte[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

}
