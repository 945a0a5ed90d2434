package dev.siderolink.server.inventory.standalone;

import dev.siderolink.server.inventory.StoreUnavailableException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-ahead journal of the standalone store: what makes status writes durable without an
 * fsync per file.
 *
 * <p>A status write replaces its file atomically but without fsync (visible at once, durable
 * later), then {@link #append appends} the new content here. Appends are group-committed by one
 * thread: one write and one {@code fdatasync} for every record that arrived while the previous
 * commit ran, so a thousand status changes a second cost tens of fsyncs, not thousands; the
 * writer is told through {@link #durable}, without a thread of its own waiting. A
 * {@link #checkpoint} (every few seconds, and at close) flushes the files written since the last
 * one, then deletes the segments that covered them. After a crash, {@link #recover} puts back what a segment holds
 * and the files lost, then deletes it.
 *
 * <p>Segments are {@code journal/<process token>.<sequence>.log}, each locked by the process that
 * writes it, so servers sharing the directory never recover (and delete) each other's live
 * segments. A record is {@code [length][crc32c][epoch nanos][path length][path][content]}, the
 * path relative to the state directory; a torn record at the end (a crash during an append that
 * was never confirmed) ends the segment.
 */
final class Journal implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Journal.class);
    static final String DIRECTORY = "journal";
    static final String SUFFIX = ".log";
    private static final int HEADER = 8; // length + crc32c
    private static final int MAX_RECORD = 64 << 20;
    /**
     * Segments open in this JVM: never opened by a recovery here (closing a second channel on a
     * locked file can drop the lock, and an in-JVM lock is no test of liveness anyway).
     */
    private static final Set<Path> OPEN_HERE = ConcurrentHashMap.newKeySet();

    /** One journalled write: the file (absolute), its content, and when it was written. */
    record Entry(Path file, byte[] content, Instant written) {}

    /** A record waiting for its commit. */
    static final class Ticket {
        private final Path file;
        private final ByteBuffer record;
        private final CompletableFuture<Void> committed = new CompletableFuture<>();

        private Ticket(Path file, ByteBuffer record) {
            this.file = file;
            this.record = record;
        }

    }

    private static final class Segment {
        final Path path;
        final FileChannel channel;
        final FileLock lock;
        /** Files whose records are in this segment: fsynced before it is deleted. */
        final Set<Path> files = new HashSet<>();
        long bytes;

        Segment(Path path, FileChannel channel, FileLock lock) {
            this.path = path;
            this.channel = channel;
            this.lock = lock;
        }
    }

    /** fsync of one file or directory (tests count and fail it). */
    interface Syncer {
        void sync(Path file) throws IOException;
    }

    /** How a checkpoint makes the files written since the last one durable, with the renames into their directories. */
    interface Flusher {
        void flush(Set<Path> files, Set<Path> directories) throws IOException;

        /** One fsync per file, then one per directory; a file deleted meanwhile is skipped. */
        static Flusher eachFile(Syncer syncer) {
            return (files, directories) -> {
                for (Path file : files) {
                    try {
                        syncer.sync(file);
                    } catch (NoSuchFileException e) {
                        // deleted since: nothing to keep
                    }
                }
                for (Path directory : directories) {
                    syncer.sync(directory);
                }
            };
        }
    }

    private final Path root;
    private final Path dir;
    private final Clock clock;
    private final Syncer syncer;
    private final Flusher flusher;
    private final String token = Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    private long sequence;
    private final List<Ticket> queue = new ArrayList<>();
    /** Segments written to, oldest first; the last one takes new records (null after a failure: the next commit opens one). */
    private final List<Segment> segments = new ArrayList<>();
    private Segment current;
    private boolean committing;
    private boolean closed;
    private boolean stopping;
    /** A checkpoint waits to switch segments: no new commit starts meanwhile (it is quick). */
    private boolean switching;
    /**
     * Writes and fsyncs what is queued, again and again: while one commit runs, the records that
     * arrive queue up for the next. Writers never wait in a thread of their own for the disk.
     */
    private final Thread committer;
    /** Files whose last commit failed: made durable directly before a write to them is confirmed again. */
    private final Set<Path> failed = ConcurrentHashMap.newKeySet();
    /** Per file, its latest record while that is not committed yet. */
    private final Map<Path, Ticket> uncommitted = new ConcurrentHashMap<>();
    private volatile Instant lastCheckpoint;
    private volatile long lastCheckpointMillis;
    private volatile String lastError;
    private volatile long commits;
    private volatile long records;

    Journal(Path root, Clock clock, Syncer syncer, Flusher flusher) throws IOException {
        this.root = root;
        this.dir = root.resolve(DIRECTORY);
        this.clock = clock;
        this.syncer = syncer;
        this.flusher = flusher;
        Files.createDirectories(dir);
        this.committer = new Thread(this::commitLoop, "standalone-journal-commit");
        committer.setDaemon(true);
        committer.start();
    }

    /** fsync of a file or a directory (what makes a rename into it durable). */
    static void fsync(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    // ---- appending ----

    /**
     * Queues {@code content} as the new content of {@code file}; {@link #durable} tells when it is
     * on disk. Queuing alone does not start a commit: records appended one after the other (a
     * binding, then its MetalMachine) then share the next one.
     */
    Ticket append(Path file, byte[] content) throws IOException {
        byte[] path = root.relativize(file).toString().getBytes(StandardCharsets.UTF_8);
        Instant now = clock.instant();
        int payload = 8 + 4 + path.length + content.length;
        ByteBuffer record = ByteBuffer.allocate(HEADER + payload).order(ByteOrder.BIG_ENDIAN);
        record.position(HEADER);
        record.putLong(now.getEpochSecond() * 1_000_000_000L + now.getNano());
        record.putInt(path.length).put(path).put(content);
        CRC32C crc = new CRC32C();
        crc.update(record.array(), HEADER, payload);
        record.putInt(0, payload).putInt(4, (int) crc.getValue());
        record.flip();
        Ticket ticket = new Ticket(file, record);
        synchronized (this) {
            if (closed) {
                throw new IOException("the journal is closed");
            }
            queue.add(ticket);
        }
        uncommitted.put(file, ticket); // callers append a file's records in order (under its lock)
        return ticket;
    }

    /**
     * The latest record of {@code file} if it is not committed yet, else null: a caller that finds
     * nothing to change still waits for it before saying the file's content is stored.
     */
    Ticket uncommitted(Path file) {
        Ticket ticket = uncommitted.get(file);
        return ticket == null || ticket.committed.isDone() ? null : ticket;
    }

    /**
     * Completes once the ticket's record is on disk, or fails with the commit's {@link IOException};
     * starts a commit if none runs. What depends on it runs on the journal's commit thread: keep
     * that short and non-blocking.
     */
    CompletableFuture<Void> durable(Ticket ticket) {
        if (!ticket.committed.isDone()) {
            synchronized (this) {
                notifyAll(); // the committer, if it sleeps
            }
        }
        return ticket.committed;
    }

    /** Blocks until the ticket's record is on disk (for callers that may block: tests, start-up). */
    void await(Ticket ticket) throws IOException {
        try {
            durable(ticket).get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof IOException io ? io : new IOException(cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for the journal");
        }
    }

    private void commitLoop() {
        while (true) {
            List<Ticket> batch;
            Segment segment;
            synchronized (this) {
                while ((queue.isEmpty() && !stopping) || switching) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return; // abandoned
                    }
                }
                if (queue.isEmpty()) {
                    return; // stopping, everything committed
                }
                committing = true;
                batch = new ArrayList<>(queue);
                queue.clear();
                segment = current;
            }
            IOException failure = commit(batch, segment);
            // outside the lock: what waits for these commits continues right here
            for (Ticket t : batch) {
                uncommitted.remove(t.file, t);
                if (failure == null) {
                    t.committed.complete(null);
                } else {
                    t.committed.completeExceptionally(new IOException("journal commit failed: " + failure.getMessage(), failure));
                }
            }
        }
    }

    /** Writes and fsyncs one batch; null when done, else why it failed. Caller set {@link #committing}. */
    private IOException commit(List<Ticket> batch, Segment segment) {
        IOException failure = null;
        try {
            if (segment == null) {
                segment = openSegment();
            }
            ByteBuffer[] buffers = new ByteBuffer[batch.size()];
            long length = 0;
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = batch.get(i).record.duplicate();
                length += buffers[i].remaining();
            }
            long written = 0;
            while (written < length) {
                written += segment.channel.write(buffers);
            }
            segment.channel.force(false);
            segment.bytes += length;
        } catch (IOException | RuntimeException e) {
            failure = e instanceof IOException io ? io : new IOException(e);
        }
        synchronized (this) {
            committing = false;
            if (segment != null && segment != current) {
                segments.add(segment);
                current = segment;
            }
            if (failure == null) {
                for (Ticket t : batch) {
                    current.files.add(t.file);
                }
                commits++;
                records += batch.size();
            } else {
                // A half-written segment ends at the torn record: later records must go to a new one.
                current = null;
                lastError = failure.toString();
                for (Ticket t : batch) {
                    failed.add(t.file);
                }
                log.warn("standalone journal: commit of {} records failed: {}", batch.size(), failure.toString());
            }
            notifyAll(); // a checkpoint waiting for this commit to end
        }
        return failure;
    }

    /**
     * For a write of {@code file} that changed nothing, so its caller confirms content written
     * before: that content made durable if its commit failed ({@link #ensureDurable}), and the
     * file's record still to be committed, if any, to wait for ({@link #uncommitted}).
     *
     * @throws StoreUnavailableException when the file cannot be made durable
     */
    Ticket unchanged(Path file) {
        try {
            ensureDurable(file);
        } catch (IOException e) {
            throw new StoreUnavailableException("cannot make " + file + " durable: " + e.getMessage(), e);
        }
        return uncommitted(file);
    }

    /**
     * For a write that changed nothing: when an earlier write of {@code file} was never confirmed
     * (its commit failed), the file as it is now is made durable before anyone is told it is.
     */
    void ensureDurable(Path file) throws IOException {
        if (failed.contains(file)) {
            syncer.sync(file);
            syncer.sync(file.getParent());
            failed.remove(file);
        }
    }

    private Segment openSegment() throws IOException {
        long seq;
        synchronized (this) {
            seq = ++sequence;
        }
        Path path = dir.resolve(token + "." + String.format("%016x", seq) + SUFFIX);
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        try {
            FileLock lock = channel.lock();
            OPEN_HERE.add(path);
            // the segment's name must survive a crash before any record in it is confirmed
            try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
                directory.force(true);
            }
            return new Segment(path, channel, lock);
        } catch (IOException | RuntimeException e) {
            channel.close();
            Files.deleteIfExists(path);
            throw e;
        }
    }

    // ---- checkpoints ----

    /** Bytes committed since the last checkpoint (every segment it has not deleted yet). */
    synchronized long pendingBytes() {
        long bytes = 0;
        for (Segment segment : segments) {
            bytes += segment.bytes;
        }
        return bytes;
    }

    /**
     * Makes every file written through the journal so far durable by itself, then deletes the
     * segments that held their records. Commits wait while the segment is switched; the fsyncs run
     * while new records already go to the next segment.
     */
    void checkpoint() throws IOException {
        List<Segment> retired;
        synchronized (this) {
            if (segments.isEmpty()) {
                return;
            }
            switching = true;
            try {
                while (committing) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted waiting for a journal commit");
                    }
                }
            } finally {
                switching = false;
                notifyAll();
            }
            retired = new ArrayList<>(segments);
            segments.clear();
            current = null; // the next commit opens a new segment
        }
        Set<Path> files = new HashSet<>();
        for (Segment segment : retired) {
            files.addAll(segment.files);
        }
        Set<Path> directories = new HashSet<>();
        for (Path file : files) {
            directories.add(file.getParent()); // the renames into it
        }
        long start = System.nanoTime();
        try {
            flusher.flush(files, directories);
        } catch (IOException | RuntimeException e) {
            synchronized (this) {
                segments.addAll(0, retired); // kept for the next checkpoint, or for recovery
                lastError = "checkpoint: " + e;
            }
            throw e;
        }
        for (Segment segment : retired) {
            close(segment);
            Files.deleteIfExists(segment.path);
        }
        lastCheckpoint = clock.instant();
        lastCheckpointMillis = (System.nanoTime() - start) / 1_000_000;
        log.debug("standalone journal: checkpoint of {} files took {} ms", files.size(), lastCheckpointMillis);
    }

    private static void close(Segment segment) {
        OPEN_HERE.remove(segment.path);
        try {
            segment.lock.release();
        } catch (IOException | RuntimeException e) {
            // closing the channel releases it too
        }
        try {
            segment.channel.close();
        } catch (IOException e) {
            // nothing left to do with it
        }
    }

    /** Commits what is queued, then a final checkpoint; appends fail from here on. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            closed = true;
            stopping = true;
            notifyAll();
        }
        try {
            committer.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        checkpoint();
    }

    /**
     * For tests: what a kill or a power cut leaves, the segments closed as they are, no checkpoint
     * (the next {@link #recover} reads them).
     */
    void abandon() {
        committer.interrupt();
        try {
            committer.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Segment> left;
        synchronized (this) {
            closed = true;
            left = new ArrayList<>(segments);
            segments.clear();
            current = null;
        }
        left.forEach(Journal::close);
    }

    Map<String, Object> details() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("journalBytes", pendingBytes());
        details.put("journalCommits", commits);
        details.put("journalRecords", records);
        Instant last = lastCheckpoint;
        details.put("lastCheckpoint", last == null ? "never" : last.toString());
        if (last != null) {
            details.put("lastCheckpointMillis", lastCheckpointMillis);
        }
        String error = lastError;
        if (error != null) {
            details.put("journalError", error);
        }
        return details;
    }

    // ---- recovery ----

    /**
     * Reads the segments no live process holds (left by a crash or a kill) and returns the latest
     * content journalled for each file. The segments stay locked by this process
     * until {@link Recovered#close} deletes them, after the caller has put the entries back.
     */
    static Recovered recover(Path root) throws IOException {
        Path dir = root.resolve(DIRECTORY);
        Files.createDirectories(dir);
        List<Path> paths = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, "*" + SUFFIX)) {
            stream.forEach(paths::add);
        }
        paths.sort(null); // a process's segments in sequence; across processes the record times decide
        Map<Path, Entry> last = new LinkedHashMap<>();
        List<Segment> held = new ArrayList<>();
        for (Path path : paths) {
            if (OPEN_HERE.contains(path)) {
                continue;
            }
            FileChannel channel;
            try {
                channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (NoSuchFileException e) {
                continue; // its owner checkpointed it meanwhile
            }
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // held by this JVM: live
            }
            if (lock == null) {
                channel.close();
                continue; // a live process's segment
            }
            OPEN_HERE.add(path);
            held.add(new Segment(path, channel, lock));
            read(root, path, channel, last);
        }
        return new Recovered(new ArrayList<>(last.values()), held);
    }

    private static void read(Path root, Path path, FileChannel channel, Map<Path, Entry> last) throws IOException {
        long size = channel.size();
        long position = 0;
        ByteBuffer header = ByteBuffer.allocate(HEADER).order(ByteOrder.BIG_ENDIAN);
        while (position < size) {
            header.clear();
            if (readFully(channel, header, position) < HEADER) {
                log.info("standalone journal {}: ignored a torn record at its end (a write never confirmed)", path);
                return;
            }
            int length = header.getInt(0);
            int crc = header.getInt(4);
            if (length < 12 || length > MAX_RECORD || position + HEADER + length > size) {
                log.info("standalone journal {}: ignored a torn record at its end (a write never confirmed)", path);
                return;
            }
            ByteBuffer payload = ByteBuffer.allocate(length).order(ByteOrder.BIG_ENDIAN);
            readFully(channel, payload, position + HEADER);
            CRC32C check = new CRC32C();
            check.update(payload.array(), 0, length);
            if ((int) check.getValue() != crc) {
                log.warn("standalone journal {}: a record at byte {} does not match its checksum; the rest of the segment is ignored", path, position);
                return;
            }
            payload.flip();
            long nanos = payload.getLong();
            int pathLength = payload.getInt();
            if (pathLength < 1 || pathLength > length - 12) {
                log.warn("standalone journal {}: a record at byte {} is malformed; the rest of the segment is ignored", path, position);
                return;
            }
            byte[] name = new byte[pathLength];
            payload.get(name);
            byte[] content = new byte[payload.remaining()];
            payload.get(content);
            Path file = root.resolve(new String(name, StandardCharsets.UTF_8)).normalize();
            if (!file.startsWith(root) || file.equals(root)) {
                log.warn("standalone journal {}: a record names {}, outside the state directory; ignored", path, file);
            } else {
                Entry entry = new Entry(file, content, Instant.ofEpochSecond(0, nanos));
                last.merge(file, entry, (earlier, later) -> later.written().isBefore(earlier.written()) ? earlier : later);
            }
            position += HEADER + length;
        }
    }

    private static int readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        int total = 0;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + total);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /** What {@link #recover} found; closing it deletes the segments read once {@link #restored} was called. */
    static final class Recovered implements AutoCloseable {
        private final List<Entry> entries;
        private final List<Segment> segments;
        private boolean restored;

        private Recovered(List<Entry> entries, List<Segment> segments) {
            this.entries = entries;
            this.segments = segments;
        }

        List<Entry> entries() {
            return entries;
        }

        int segments() {
            return segments.size();
        }

        /** Every entry is durable in its file (or deliberately left): the segments may go. */
        void restored() {
            restored = true;
        }

        /** Deletes the segments read if {@link #restored}, else keeps them for the next start; releases them. */
        @Override
        public void close() throws IOException {
            for (Segment segment : segments) {
                if (restored) {
                    Files.deleteIfExists(segment.path);
                }
                Journal.close(segment);
            }
        }
    }
}
