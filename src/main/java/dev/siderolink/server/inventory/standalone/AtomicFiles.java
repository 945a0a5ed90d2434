package dev.siderolink.server.inventory.standalone;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe file replacement: temp file in the same directory, fsync, rename, fsync of the
 * directory. Temp files are named {@code .<target>.<random>.tmp} so directory scans skip them.
 */
class AtomicFiles {

    static final String TEMP_SUFFIX = ".tmp";
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    /** The step between "temp file complete" and "visible under its name"; tests make it fail. */
    interface Renamer {
        void rename(Path temp, Path target) throws IOException;
    }

    private final Renamer renamer;

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
        Path temp = writeTemp(target, content, ownerOnly);
        BasicFileAttributes written;
        try {
            // Read before the rename: once visible under its name, the file may be replaced by a hand
            // edit at any moment, whose attributes must not be taken for those of our write.
            written = Files.readAttributes(temp, BasicFileAttributes.class);
            renamer.rename(temp, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        syncDirectory(target.getParent());
        return written;
    }

    /**
     * Creates {@code target} only if it does not exist (hard link of a complete temp file, which
     * is atomic and never replaces). Returns false when someone else's file was already there.
     */
    boolean createExclusive(Path target, byte[] content, boolean ownerOnly) throws IOException {
        Path temp = writeTemp(target, content, ownerOnly);
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

    private static Path writeTemp(Path target, byte[] content, boolean ownerOnly) throws IOException {
        Path dir = target.getParent();
        Path temp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + TEMP_SUFFIX);
        FileAttribute<?>[] attrs = ownerOnly ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(OWNER_ONLY)} : new FileAttribute<?>[0];
        try (FileChannel channel = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        return temp;
    }

    /** Makes the rename itself durable (ext4/xfs need the directory flushed). */
    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    static boolean isTemp(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.endsWith(TEMP_SUFFIX);
    }
}
