package dev.siderolink.server.inventory.standalone;

import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineCache;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.ResourceNames;
import dev.siderolink.server.inventory.StoreUnavailableException;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MetalMachine half of the standalone directory: {@code metalmachines/<namespace>/<name>.yaml},
 * read into a {@link MetalMachineCache} by {@link #rescan()}, with the same rules as binding files:
 * a file is re-read only when its stamp (inode, size, mtime) changed; a file that does not parse,
 * is not a MetalMachine or names another namespace/name than its path is reported once and its
 * last good version stays in use; a deleted file is forgotten.
 *
 * <p>The only write is {@link #writeStatus}: the mirrored part of the status of an existing file,
 * under a per-key lock shared with the rescan, after re-reading a file changed by hand, never over a
 * file that does not parse, and never creating one.
 */
final class MetalMachineFiles {

    private static final Logger log = LoggerFactory.getLogger(MetalMachineFiles.class);
    private static final String YAML = ".yaml";
    private static final int LOCK_STRIPES = 64;

    private final Path root;
    private final MetalMachineCache cache;
    private final KubernetesSerialization serialization;
    private final AtomicFiles files;
    private final Journal journal;
    private final YamlFiles yaml;
    /** What we last read or wrote per MetalMachine, to tell our own writes from hand edits; changed under the key's lock. */
    private final Map<MetalMachine.Key, Loaded> loaded = new ConcurrentHashMap<>();
    private final Set<Path> reported = ConcurrentHashMap.newKeySet();
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];

    private record Loaded(GenericKubernetesResource resource, MetalMachine metalMachine, StandaloneResourceStore.Stamp stamp) {}

    /** What a file holds now, as far as the cache is concerned. */
    private enum State { USABLE, MISSING, UNUSABLE }

    MetalMachineFiles(Path root, MetalMachineCache cache, KubernetesSerialization serialization, YamlFiles yaml, AtomicFiles files, Journal journal) {
        this.yaml = yaml;
        this.journal = journal;
        this.root = root;
        this.cache = cache;
        this.serialization = serialization;
        this.files = files;
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    /**
     * Removes temp files a crash between write and rename left in the namespace directories (the
     * real files are the old versions, intact). Best effort: MetalMachines are optional.
     */
    static void cleanTempFiles(Path root) {
        List<Path> namespaces;
        try {
            namespaces = listOrThrow(root, null);
        } catch (IOException e) {
            return; // rescan reports an unreadable root
        }
        for (Path namespace : namespaces) {
            if (!Files.isDirectory(namespace)) {
                continue;
            }
            try (DirectoryStream<Path> stream = Files.newDirectoryStream(namespace, AtomicFiles::isTemp)) {
                for (Path temp : stream) {
                    Files.deleteIfExists(temp);
                    log.info("removed {} left by an interrupted write", temp);
                }
            } catch (IOException e) {
                log.warn("standalone state: cannot remove temp files from {}: {}", namespace, e.toString());
            }
        }
    }

    /**
     * Whether the file was there, and the journal commit to wait for before the content counts as
     * stored (null: none, it is durable already).
     */
    record Written(boolean found, Journal.Ticket ticket) {}

    /**
     * Replaces the mirrored part of the status ({@code status.conditions}, {@code status.addresses})
     * of MetalMachine {@code key} by {@code update(current)}, keeping every other field; durable
     * once the returned ticket's commit is done. Not found when there is no such file (or the key
     * cannot name one); found when written or nothing to change.
     *
     * @throws StoreUnavailableException when the file cannot be read or written, or does not parse
     */
    Written writeStatus(MetalMachine.Key key, UnaryOperator<MetalMachineStatus> update) {
        if (ResourceNames.problem(key.namespace()) != null || ResourceNames.problem(key.name()) != null) {
            return new Written(false, null); // nothing on disk can have such a name; never build a path from it
        }
        Path file = file(key);
        ReentrantLock lock = lockFor(key);
        Journal.Ticket ticket = null;
        lock.lock();
        try {
            // A hand edit since the last rescan must not be overwritten: re-read a changed file, and
            // refuse to replace one that does not parse (the operator's half-done edit would be lost).
            State state;
            try {
                state = refreshLocked(key, file);
            } catch (IOException e) {
                throw new StoreUnavailableException("cannot read " + file + ": " + e.getMessage(), e);
            }
            if (state == State.MISSING) {
                return new Written(false, null);
            }
            if (state == State.UNUSABLE) {
                throw new StoreUnavailableException("not writing " + file + ": it does not parse as a MetalMachine;"
                        + " nothing is written to it until it is fixed", null);
            }
            Loaded current = loaded.get(key);
            MetalMachineStatus now = MetalMachineResources.toStatus(current.resource());
            MetalMachineStatus next = update.apply(now);
            if (next.equals(now)) {
                return new Written(true, journal.unchanged(file));
            }
            GenericKubernetesResource resource = serialization.clone(current.resource());
            MetalMachineResources.setStatus(resource, next);
            BasicFileAttributes written;
            try {
                byte[] content = yaml.toYaml(resource);
                written = files.writeVisible(file, content);
                ticket = journal.append(file, content);
            } catch (IOException e) {
                throw new StoreUnavailableException("cannot write " + file + ": " + e.getMessage(), e);
            }
            loaded.put(key, new Loaded(resource, current.metalMachine(), StandaloneResourceStore.Stamp.of(written)));
        } finally {
            lock.unlock();
        }
        // awaited outside the lock: other MetalMachines on this lock stripe need not wait for this commit
        return new Written(true, ticket);
    }

    /**
     * Reads every changed file under the root and forgets MetalMachines whose file is gone. Never
     * throws for a file system problem: it is reported and what was read before stays in use, so
     * the optional MetalMachines never stop the bindings from being read. Synchronized: the periodic
     * rescan and tests may overlap; per-file work also takes the key's lock, against writes.
     */
    synchronized void rescan() {
        Set<MetalMachine.Key> seen = new HashSet<>();
        Set<Path> present = new HashSet<>();
        List<Path> entries;
        try {
            entries = listOrThrow(root, null);
        } catch (NoSuchFileException e) {
            entries = List.of(); // removed by hand: no MetalMachines
        } catch (IOException e) {
            reportOnce(root, "cannot list it (" + e + "); keeping the MetalMachines read before");
            return;
        }
        reported.remove(root);
        for (Path entry : entries) {
            String namespace = entry.getFileName().toString();
            if (namespace.startsWith(".")) {
                continue;
            }
            present.add(entry);
            if (!Files.isDirectory(entry)) {
                if (namespace.endsWith(YAML) || namespace.endsWith(".yml")) {
                    reportOnce(entry, "ignored: MetalMachine files go in " + root + "/<namespace>/<name>.yaml");
                }
                continue;
            }
            String problem = ResourceNames.problem(namespace);
            if (problem != null) {
                reportOnce(entry, "ignored: as a namespace, the directory name " + problem);
                continue;
            }
            scanNamespace(namespace, entry, seen, present);
        }
        for (MetalMachine.Key key : List.copyOf(loaded.keySet())) {
            if (!seen.contains(key)) {
                ReentrantLock lock = lockFor(key);
                lock.lock();
                try {
                    if (!Files.exists(file(key))) {
                        forget(key);
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
        reported.retainAll(present); // a file deleted and written broken again is reported again
    }

    private void scanNamespace(String namespace, Path directory, Set<MetalMachine.Key> seen, Set<Path> present) {
        List<Path> files;
        try {
            files = listOrThrow(directory, "*" + YAML);
        } catch (NoSuchFileException | NotDirectoryException e) {
            return; // removed while we looked: its MetalMachines are forgotten with the others not seen
        } catch (IOException e) {
            reportOnce(directory, "cannot list it (" + e + "); keeping what was read from it before");
            loaded.keySet().stream().filter(k -> k.namespace().equals(namespace)).forEach(seen::add);
            return;
        }
        for (Path file : files) {
            String fileName = file.getFileName().toString();
            if (AtomicFiles.isTemp(file) || fileName.startsWith(".")) {
                continue;
            }
            present.add(file);
            String name = fileName.substring(0, fileName.length() - YAML.length());
            String problem = ResourceNames.problem(name);
            if (problem != null) {
                reportOnce(file, "ignored: as a MetalMachine name, the file name " + problem);
                continue;
            }
            MetalMachine.Key key = new MetalMachine.Key(namespace, name);
            ReentrantLock lock = lockFor(key);
            lock.lock();
            try {
                if (refreshLocked(key, file) != State.MISSING) {
                    seen.add(key);
                }
            } catch (IOException e) {
                seen.add(key);
                reportOnce(file, "cannot read it (" + e + "); keeping the last good version, if any");
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Brings one MetalMachine up to date with its file; caller holds the key's lock. A broken file
     * keeps the last good version in the cache (UNUSABLE); a missing one is forgotten (MISSING).
     *
     * @throws IOException when the file's attributes cannot be read (other than it being gone)
     */
    private State refreshLocked(MetalMachine.Key key, Path file) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return forget(key);
        }
        StandaloneResourceStore.Stamp stamp = StandaloneResourceStore.Stamp.of(attrs);
        Loaded current = loaded.get(key);
        if (current != null && current.stamp().equals(stamp)) {
            return State.USABLE;
        }
        GenericKubernetesResource resource;
        MetalMachine metalMachine;
        try {
            resource = serialization.unmarshal(Files.readString(file), GenericKubernetesResource.class);
            validate(key, resource);
            metalMachine = MetalMachineResources.toMetalMachine(resource);
        } catch (NoSuchFileException e) {
            return forget(key); // deleted since its attributes were read
        } catch (IOException | RuntimeException e) {
            reportOnce(file, "not a usable MetalMachine (" + StandaloneResourceStore.rootMessage(e) + "); "
                    + (current != null ? "keeping the last good version" : "ignored until fixed"));
            return State.UNUSABLE;
        }
        reported.remove(file);
        loaded.put(key, new Loaded(resource, metalMachine, stamp));
        if (current == null || !current.metalMachine().equals(metalMachine)) {
            log.debug("metal machine {} loaded from {}", key, file);
        }
        cache.put(metalMachine);
        return State.USABLE;
    }

    private State forget(MetalMachine.Key key) {
        if (loaded.remove(key) != null) {
            files.forget(file(key));
            cache.remove(key);
            log.info("metal machine {} removed (file deleted)", key);
        }
        return State.MISSING;
    }

    private static void validate(MetalMachine.Key key, GenericKubernetesResource resource) {
        if (resource == null) {
            throw new IllegalArgumentException("empty file");
        }
        if (!MetalMachineResources.KIND.equals(resource.getKind())) {
            throw new IllegalArgumentException("kind is " + resource.getKind() + ", expected " + MetalMachineResources.KIND);
        }
        if (resource.getMetadata() == null || !key.name().equals(resource.getMetadata().getName())) {
            throw new IllegalArgumentException("metadata.name must equal the file name, " + key.name());
        }
        if (!key.namespace().equals(resource.getMetadata().getNamespace())) {
            throw new IllegalArgumentException("metadata.namespace must equal the directory name, " + key.namespace());
        }
    }

    Path file(MetalMachine.Key key) {
        return root.resolve(key.namespace()).resolve(key.name() + YAML);
    }

    private ReentrantLock lockFor(MetalMachine.Key key) {
        return locks[Math.floorMod(key.hashCode(), locks.length)];
    }

    private static List<Path> listOrThrow(Path directory, String glob) throws IOException {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> stream = glob == null ? Files.newDirectoryStream(directory) : Files.newDirectoryStream(directory, glob)) {
            stream.forEach(entries::add);
        }
        return entries;
    }

    private void reportOnce(Path path, String problem) {
        if (reported.add(path)) {
            log.warn("standalone state: {}: {}", path, problem);
        }
    }
}
