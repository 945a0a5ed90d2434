package dev.siderolink.server.inventory.standalone;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe file replacement: the new content goes to a hidden file in the same directory, is
 * fsynced, then renamed over the target, and the directory is fsynced. Hidden files are named
 * {@code .<target>.<token>.tmp} so directory scans skip them and start-up removes leftovers.
 *
 * <p>The hidden file is recycled: the inode a replace takes off the target is kept as this
 * process's spare for that target and overwritten in place by the next replace. A fresh file
 * per replace would free the old file's blocks every time, and on a file system mounted with
 * {@code discard} freeing blocks is what limits replaces (about 2,200/s here, fsync or not;
 * recycled, 2x that with fsync: docs/benchmarks.md). Callers serialize writes per target within
 * a process; each process has its own spares, so processes sharing a directory never write into
 * each other's. An old inode that is hard-linked elsewhere (a backup made with {@code ln}) is
 * never recycled.
 */
class AtomicFiles {

    static final String TEMP_SUFFIX = ".tmp";
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** The step between "temp file complete" and "visible under its name"; tests make it fail. */
    interface Renamer {
        void rename(Path temp, Path target) throws IOException;
    }

    private final Renamer renamer;
    private final Map<Path, DirectorySync> directorySyncs = new ConcurrentHashMap<>();
    /** Names this process's spares apart from another process's (containers all have pid 1). */
    private final String spareToken = Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE) + ".spare";

    AtomicFiles() {
        this((temp, target) -> Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING));
    }

    AtomicFiles(Renamer renamer) {
        this.renamer = renamer;
    }

    /**
     * Replaces {@code target} with {@code content}; on failure the old file is untouched. Returns
     * the attributes of the file written (inode, size, mtime: a rename keeps them).
     */
    BasicFileAttributes write(Path target, byte[] content, boolean ownerOnly) throws IOException {
        return replace(target, content, ownerOnly, true);
    }

    /**
     * Replaces {@code target} as {@link #write} does (a reader sees the old or the new file), but
     * without any fsync: visible at once, durable only once the caller's {@link Journal} commit or
     * a later fsync says so.
     */
    BasicFileAttributes writeVisible(Path target, byte[] content) throws IOException {
        return replace(target, content, false, false);
    }

    private BasicFileAttributes replace(Path target, byte[] content, boolean ownerOnly, boolean durable) throws IOException {
        // Owner-only files (the Secret) are rare: always a fresh file, never an inode that was readable.
        Path temp = ownerOnly ? writeTemp(target, content, true, durable) : writeSpare(target, content, durable);
        BasicFileAttributes written;
        Path previous = null;
        try {
            // Read before the rename: once visible under its name, the file may be replaced by a hand
            // edit at any moment, whose attributes must not be taken for those of our write.
            written = Files.readAttributes(temp, BasicFileAttributes.class);
            previous = ownerOnly ? null : keepPrevious(target);
            renamer.rename(temp, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            if (previous != null) {
                Files.deleteIfExists(previous);
            }
            throw e;
        }
        if (previous != null) {
            recycle(previous, spareOf(target));
        }
        if (durable) {
            syncDirectory(target.getParent());
        }
        return written;
    }

    /** Drops this process's spare for {@code target} (the target was deleted). */
    void forget(Path target) {
        try {
            Files.deleteIfExists(spareOf(target));
        } catch (IOException e) {
            // start-up removes it
        }
    }

    private Path spareOf(Path target) {
        return target.resolveSibling("." + target.getFileName() + "." + spareToken + TEMP_SUFFIX);
    }

    /** The content in this process's spare for {@code target}, overwritten in place (and fsynced when durable). */
    private Path writeSpare(Path target, byte[] content, boolean durable) throws IOException {
        Path spare = spareOf(target);
        try (FileChannel channel = FileChannel.open(spare, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            // No TRUNCATE_EXISTING: truncating to zero would free the blocks this is about keeping.
            ByteBuffer buffer = ByteBuffer.wrap(content);
            long position = 0;
            while (buffer.hasRemaining()) {
                position += channel.write(buffer, position);
            }
            channel.truncate(content.length);
            if (durable) {
                channel.force(false);
            }
            return spare;
        } catch (IOException | RuntimeException e) {
            // e.g. a recycled hand-made file we may not write: start afresh
            Files.deleteIfExists(spare);
            return writeTemp(target, content, false, durable);
        }
    }

    /**
     * A second name for the current target, so the rename does not free it; null when there is no
     * target or it must not be recycled (linked elsewhere too).
     */
    private static Path keepPrevious(Path target) throws IOException {
        Path previous = target.resolveSibling("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX);
        try {
            Files.createLink(previous, target);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | UnsupportedOperationException e) {
            return null; // no hard links here: a plain replace
        }
        try {
            Object links = Files.getAttribute(previous, "unix:nlink");
            if (links instanceof Integer count && count == 2) {
                return previous;
            }
        } catch (IOException | RuntimeException e) {
            // not recycled
        }
        Files.deleteIfExists(previous);
        return null;
    }

    private static void recycle(Path previous, Path spare) {
        try {
            Files.move(previous, spare, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(previous);
            } catch (IOException ignored) {
                // start-up removes it
            }
        }
    }

    /**
     * Creates {@code target} only if it does not exist (hard link of a complete temp file, which
     * is atomic and never replaces). Returns false when someone else's file was already there.
     */
    boolean createExclusive(Path target, byte[] content, boolean ownerOnly) throws IOException {
        Path temp = writeTemp(target, content, ownerOnly, true);
        try {
            Files.createLink(target, temp);
            syncDirectory(target.getParent());
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static Path writeTemp(Path target, byte[] content, boolean ownerOnly, boolean durable) throws IOException {
        Path dir = target.getParent();
        Path temp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX);
        FileAttribute<?>[] attrs = ownerOnly ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)} : new FileAttribute<?>[0];
        try (FileChannel channel = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            if (durable) {
                channel.force(true);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        return temp;
    }

    /** Makes the rename itself durable (ext4/xfs need the directory flushed). */
    private void syncDirectory(Path dir) throws IOException {
        directorySyncs.computeIfAbsent(dir, DirectorySync::new).sync();
    }

    /**
     * Group commit of one directory's fsync: a caller returns once an fsync that started after its
     * call has completed, so renames made while one fsync runs share the next one instead of each
     * paying their own.
     */
    private static final class DirectorySync {
        private final Path dir;
        private long requested;
        private long completed;
        private boolean running;

        DirectorySync(Path dir) {
            this.dir = dir;
        }

        void sync() throws IOException {
            long covered;
            synchronized (this) {
                long mine = ++requested;
                while (true) {
                    if (completed >= mine) {
                        return;
                    }
                    if (!running) {
                        running = true;
                        covered = requested; // every rename made before this point
                        break;
                    }
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted waiting for the fsync of " + dir);
                    }
                }
            }
            boolean done = false;
            try {
                try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
                    channel.force(true);
                }
                done = true;
            } finally {
                synchronized (this) {
                    running = false;
                    if (done) {
                        completed = Math.max(completed, covered);
                    }
                    notifyAll(); // after a failure, a waiter runs the next fsync itself
                }
            }
        }
    }

    static boolean isTemp(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
    }
}
