package dev.siderolink.server.inventory.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link Journal} on a real directory: commits, checkpoints, recovery after a crash. */
@Timeout(30)
class JournalTest {

    @TempDir
    Path root;

    private final List<Path> synced = new CopyOnWriteArrayList<>();
    private final List<Journal> opened = new ArrayList<>();
    private final AtomicLong millis = new AtomicLong(Instant.parse("2026-01-01T00:00:00Z").toEpochMilli());

    /** A clock that moves a millisecond per reading: record times are distinct and ordered. */
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis.incrementAndGet());
        }
    };

    @AfterEach
    void abandonAll() {
        opened.forEach(Journal::abandon);
    }

    private Journal open() throws IOException {
        Journal.Syncer syncer = file -> {
            synced.add(file);
            Journal.fsync(file);
        };
        Journal journal = new Journal(root, clock, syncer, Journal.Flusher.eachFile(syncer));
        opened.add(journal);
        return journal;
    }

    private Path file(String name) throws IOException {
        Path file = root.resolve(name);
        Files.createDirectories(file.getParent());
        Files.writeString(file, "on disk");
        return file;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private void commit(Journal journal, Path file, String content) throws IOException {
        journal.await(journal.append(file, bytes(content)));
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> files = Files.list(root.resolve(Journal.DIRECTORY))) {
            return files.sorted().collect(Collectors.toList());
        }
    }

    /** Abandons {@code journal} as a crash would, and checks what a recovery finds in it. */
    private void assertRecovers(Journal journal, Map<Path, String> expected) throws IOException {
        journal.abandon();
        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(contents(recovered)).isEqualTo(expected);
        }
    }

    private static Map<Path, String> contents(Journal.Recovered recovered) {
        return recovered.entries().stream().collect(Collectors.toMap(Journal.Entry::file, e -> new String(e.content(), StandardCharsets.UTF_8)));
    }

    @Test
    void aCrashedJournalGivesBackTheLastContentOfEveryFile() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Path b = file("metalmachines/default/b.yaml");
        Journal journal = open();
        commit(journal, a, "a1");
        commit(journal, b, "b1");
        commit(journal, a, "a2");

        journal.abandon();
        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(recovered.segments()).isEqualTo(1);
            assertThat(contents(recovered)).isEqualTo(Map.of(a, "a2", b, "b1"));
            assertThat(recovered.entries()).allSatisfy(e -> assertThat(e.written()).isAfter(Instant.parse("2026-01-01T00:00:00Z")));
        }
        assertThat(segments()).as("kept: not marked restored").hasSize(1);
        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(contents(recovered)).as("read again at the next start").isEqualTo(Map.of(a, "a2", b, "b1"));
            recovered.restored();
        }
        assertThat(segments()).as("deleted once restored").isEmpty();
    }

    @Test
    void aLiveJournalIsNotRecoveredByAnotherStore() throws IOException {
        Journal journal = open();
        commit(journal, file("serverbindings/a.yaml"), "a1");

        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(recovered.segments()).isZero();
            assertThat(recovered.entries()).isEmpty();
        }
        assertThat(segments()).as("the live segment is left alone").hasSize(1);
    }

    @Test
    void aTornRecordAtTheEndIsIgnoredAndTheRecordsBeforeItKept() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Journal journal = open();
        commit(journal, a, "complete");
        commit(journal, a, "torn by the crash");
        journal.abandon();
        Path segment = segments().get(0);
        try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() - 3);
        }

        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(contents(recovered)).isEqualTo(Map.of(a, "complete"));
        }
    }

    @Test
    void aRecordThatFailsItsChecksumEndsTheSegment() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Path b = file("serverbindings/b.yaml");
        Journal journal = open();
        commit(journal, a, "first");
        commit(journal, b, "second, damaged");
        journal.abandon();
        Path segment = segments().get(0);
        byte[] data = Files.readAllBytes(segment);
        data[data.length - 2] ^= 0x55; // inside the second record's content
        Files.write(segment, data);

        try (Journal.Recovered recovered = Journal.recover(root)) {
            assertThat(contents(recovered)).isEqualTo(Map.of(a, "first"));
        }
    }

    @Test
    void aRecordNamingAFileOutsideTheStateDirectoryIsIgnored() throws IOException {
        Path outside = Files.createTempFile("journal-outside", ".yaml");
        try {
            Journal journal = open();
            commit(journal, outside, "must never be written back");
            commit(journal, file("serverbindings/a.yaml"), "a1");
            journal.abandon();

            try (Journal.Recovered recovered = Journal.recover(root)) {
                assertThat(contents(recovered)).isEqualTo(Map.of(root.resolve("serverbindings/a.yaml"), "a1"));
            }
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void aRecordNotYetCommittedIsFoundForItsFileUntilItsCommit() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Path b = file("serverbindings/b.yaml");
        Journal journal = open();

        Journal.Ticket first = journal.append(a, bytes("a1"));
        Journal.Ticket second = journal.append(a, bytes("a2"));

        assertThat(journal.uncommitted(a)).as("the latest record of the file").isSameAs(second);
        assertThat(journal.uncommitted(b)).isNull();
        journal.await(second);
        assertThat(journal.durable(first)).as("committed together").isDone();
        assertThat(journal.uncommitted(a)).isNull();
    }

    @Test
    void concurrentWritersShareCommits() throws Exception {
        Journal journal = open();
        int threads = 32;
        int perThread = 50;
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            files.add(file("serverbindings/s" + i + ".yaml"));
        }
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Path file = files.get(i);
                results.add(pool.submit(() -> {
                    start.await();
                    for (int n = 0; n < perThread; n++) {
                        commit(journal, file, file.getFileName() + "#" + n);
                    }
                    return null;
                }));
            }
            for (Future<?> result : results) {
                result.get();
            }
        } finally {
            pool.shutdown();
        }

        Map<String, Object> details = journal.details();
        assertThat(details.get("journalRecords")).isEqualTo((long) threads * perThread);
        assertThat((Long) details.get("journalCommits")).as("group commit: fewer fsyncs than records").isLessThan((long) threads * perThread);
        journal.abandon();
        try (Journal.Recovered recovered = Journal.recover(root)) {
            Map<Path, String> contents = contents(recovered);
            assertThat(contents).hasSize(threads);
            for (Path file : files) {
                assertThat(contents.get(file)).isEqualTo(file.getFileName() + "#" + (perThread - 1));
            }
        }
    }

    @Test
    void aCheckpointSyncsEachFileAndDirectoryOnceThenDeletesTheSegment() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Path b = file("serverbindings/b.yaml");
        Path c = file("metalmachines/default/c.yaml");
        Journal journal = open();
        for (int i = 0; i < 5; i++) {
            commit(journal, a, "a" + i);
            commit(journal, b, "b" + i);
        }
        commit(journal, c, "c");
        assertThat(segments()).hasSize(1);
        assertThat(journal.pendingBytes()).isPositive();

        journal.checkpoint();

        assertThat(synced).containsExactlyInAnyOrder(a, b, c, a.getParent(), c.getParent());
        assertThat(segments()).isEmpty();
        assertThat(journal.pendingBytes()).isZero();
        assertThat(journal.details().get("lastCheckpoint")).isNotEqualTo("never");

        commit(journal, a, "after the checkpoint");
        assertThat(segments()).as("a new segment for new records").hasSize(1);
        assertRecovers(journal, Map.of(a, "after the checkpoint"));
    }

    @Test
    void aFileDeletedSinceItsWriteIsSkippedByTheCheckpoint() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Journal journal = open();
        commit(journal, a, "a1");
        Files.delete(a);

        journal.checkpoint();

        assertThat(segments()).isEmpty();
    }

    @Test
    void aFailedCheckpointKeepsTheSegmentForRecovery() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Journal.Syncer broken = file -> {
            throw new IOException("disk gone");
        };
        Journal journal = new Journal(root, clock, broken, Journal.Flusher.eachFile(broken));
        opened.add(journal);
        commit(journal, a, "a1");

        assertThatThrownBy(journal::checkpoint).isInstanceOf(IOException.class).hasMessageContaining("disk gone");

        assertThat(segments()).hasSize(1);
        assertThat(journal.details().get("journalError").toString()).contains("disk gone");
        assertRecovers(journal, Map.of(a, "a1"));
    }

    @Test
    void aFailedCommitIsReportedAndTheFileMadeDurableBeforeItIsConfirmedAgain() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Journal journal = open();
        commit(journal, a, "a1");
        journal.checkpoint(); // the next commit opens a new segment...
        Path dir = root.resolve(Journal.DIRECTORY);
        Files.delete(dir); // ...which cannot be created now
        synced.clear();

        assertThatThrownBy(() -> commit(journal, a, "a2")).isInstanceOf(IOException.class).hasMessageContaining("journal commit failed");
        assertThat(journal.details().get("journalError")).isNotNull();

        journal.ensureDurable(a);
        assertThat(synced).containsExactly(a, a.getParent());
        journal.ensureDurable(a);
        assertThat(synced).as("once").hasSize(2);

        Files.createDirectories(dir);
        commit(journal, a, "a3");
        assertRecovers(journal, Map.of(a, "a3"));
    }

    @Test
    void aClosedJournalCheckpointsAndRefusesAppends() throws IOException {
        Path a = file("serverbindings/a.yaml");
        Journal journal = open();
        commit(journal, a, "a1");

        journal.close();

        assertThat(segments()).isEmpty();
        assertThat(synced).contains(a);
        assertThatThrownBy(() -> journal.append(a, bytes("late"))).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }
}
