package dev.siderolink.server.inventory.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    private static final Pattern SPARE = Pattern.compile("^\\..+\\.[0-9a-f]{16}\\.spare\\.tmp$");

    @TempDir
    Path dir;

    static boolean isSpare(String name) {
        return SPARE.matcher(name).matches();
    }

    @Test
    void replacesContentAndRecyclesTheOldInodeAsTheNextSpare() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("first version, a bit longer than the rest\n"), false);
        Object firstInode = inode(target);

        files.write(target, bytes("second\n"), false);

        assertThat(Files.readString(target)).isEqualTo("second\n");
        assertThat(spares()).hasSize(1);
        Path spare = dir.resolve(spares().get(0));
        assertThat(inode(spare)).isEqualTo(firstInode);

        files.write(target, bytes("third version\n"), false);

        // the spare (first inode) now carries the content, exactly: no tail of the longer first version
        assertThat(inode(target)).isEqualTo(firstInode);
        assertThat(Files.readString(target)).isEqualTo("third version\n");
        assertThat(names()).hasSize(2);
    }

    @Test
    void returnsTheAttributesOfTheFileNowUnderTheName() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("one\n"), false);

        var written = files.write(target, bytes("two two\n"), false);

        var now = Files.readAttributes(target, java.nio.file.attribute.BasicFileAttributes.class);
        assertThat(written.fileKey()).isEqualTo(now.fileKey());
        assertThat(written.size()).isEqualTo(now.size()).isEqualTo(8);
        assertThat(written.lastModifiedTime()).isEqualTo(now.lastModifiedTime());
    }

    @Test
    void neverWritesIntoAFileThatIsHardLinkedElsewhere() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("precious\n"), false);
        Path backup = Files.createDirectory(dir.resolve("backup")).resolve("a.yaml");
        Files.createLink(backup, target); // an operator's snapshot, as `cp -al` makes

        for (int i = 0; i < 3; i++) {
            files.write(target, bytes("version " + i + "\n"), false);
        }

        assertThat(Files.readString(backup)).isEqualTo("precious\n");
        assertThat(Files.readString(target)).isEqualTo("version 2\n");
    }

    @Test
    void eachInstanceHasItsOwnSpare() throws IOException {
        // two processes sharing a directory: neither may write into the other's spare
        AtomicFiles one = new AtomicFiles();
        AtomicFiles other = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        one.write(target, bytes("1\n"), false);
        one.write(target, bytes("2\n"), false);
        other.write(target, bytes("3\n"), false);
        other.write(target, bytes("4\n"), false);

        assertThat(Files.readString(target)).isEqualTo("4\n");
        assertThat(spares()).hasSize(2);
    }

    @Test
    void failedRenameLeavesTheOldFileAndNoHiddenFile() throws IOException {
        AtomicBoolean fail = new AtomicBoolean();
        AtomicFiles files = new AtomicFiles((temp, target) -> {
            if (fail.get()) {
                throw new IOException("simulated crash before rename");
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        });
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("old\n"), false);
        files.write(target, bytes("older is gone\n"), false);
        fail.set(true);

        assertThatThrownBy(() -> files.write(target, bytes("new\n"), false)).hasMessageContaining("simulated");

        assertThat(Files.readString(target)).isEqualTo("older is gone\n");
        assertThat(names()).containsExactly("a.yaml");
        fail.set(false);
        files.write(target, bytes("new\n"), false);
        assertThat(Files.readString(target)).isEqualTo("new\n");
    }

    @Test
    void forgetRemovesTheSpare() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("1\n"), false);
        files.write(target, bytes("2\n"), false);
        Files.delete(target);

        files.forget(target);

        assertThat(names()).isEmpty();
    }

    @Test
    void spareAndLeftoversAreTempFilesThatStartUpRemoves() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("a.yaml");
        files.write(target, bytes("1\n"), false);
        files.write(target, bytes("2\n"), false);

        assertThat(spares()).allMatch(name -> AtomicFiles.isTemp(dir.resolve(name)));
    }

    @Test
    void ownerOnlyFilesAreNeverRecycled() throws IOException {
        AtomicFiles files = new AtomicFiles();
        Path target = dir.resolve("secret.yaml");
        files.write(target, bytes("1\n"), true);
        files.write(target, bytes("2\n"), true);

        assertThat(names()).containsExactly("secret.yaml");
        assertThat(Files.getPosixFilePermissions(target)).isEqualTo(AtomicFiles.OWNER_ONLY);
    }

    private List<String> spares() throws IOException {
        return names().stream().filter(AtomicFilesTest::isSpare).toList();
    }

    private List<String> names() throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static Object inode(Path path) throws IOException {
        return Files.getAttribute(path, "unix:ino");
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
