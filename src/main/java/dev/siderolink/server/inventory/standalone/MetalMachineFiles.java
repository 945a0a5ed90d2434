package dev.siderolink.server.inventory.standalone;

import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineCache;
import dev.siderolink.server.inventory.MetalMachineResources;
import dev.siderolink.server.inventory.ResourceNames;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MetalMachine half of the standalone directory: {@code metalmachines/<namespace>/<name>.yaml},
 * read into a {@link MetalMachineCache} by {@link #rescan()}, with the same rules as binding files:
 * a file is re-read only when its stamp (inode, size, mtime) changed; a file that does not parse,
 * is not a MetalMachine or names another namespace/name than its path is reported once and its
 * last good version stays in use; a deleted file is forgotten. Read-only: nothing here writes.
 */
final class MetalMachineFiles {

    private static final Logger log = LoggerFactory.getLogger(MetalMachineFiles.class);
    private static final String YAML = ".yaml";

    private final Path root;
    private final MetalMachineCache cache;
    private final KubernetesSerialization serialization;
    // Only touched by rescan, which is synchronized (the periodic rescan and tests may overlap).
    private final Map<MetalMachine.Key, Loaded> loaded = new HashMap<>();
    private final Set<Path> reported = new HashSet<>();

    private record Loaded(MetalMachine metalMachine, StandaloneResourceStore.Stamp stamp) {}

    MetalMachineFiles(Path root, MetalMachineCache cache, KubernetesSerialization serialization) {
        this.root = root;
        this.cache = cache;
        this.serialization = serialization;
    }

    /**
     * Reads every changed file under the root and forgets MetalMachines whose file is gone. Never
     * throws for a file system problem: it is reported and what was read before stays in use, so
     * the optional MetalMachines never stop the bindings from being read.
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
                loaded.remove(key);
                cache.remove(key);
                log.info("metal machine {} removed (file deleted)", key);
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
            refresh(new MetalMachine.Key(namespace, name), file, seen);
        }
    }

    /** Brings one MetalMachine up to date with its file; a broken file keeps the last good version. */
    private void refresh(MetalMachine.Key key, Path file, Set<MetalMachine.Key> seen) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return; // deleted since the listing
        } catch (IOException e) {
            seen.add(key);
            reportOnce(file, "cannot read it (" + e + "); keeping the last good version, if any");
            return;
        }
        seen.add(key);
        StandaloneResourceStore.Stamp stamp = StandaloneResourceStore.Stamp.of(attrs);
        Loaded current = loaded.get(key);
        if (current != null && current.stamp().equals(stamp)) {
            return;
        }
        MetalMachine metalMachine;
        try {
            GenericKubernetesResource resource = serialization.unmarshal(Files.readString(file), GenericKubernetesResource.class);
            validate(key, resource);
            metalMachine = MetalMachineResources.toMetalMachine(resource);
        } catch (IOException | RuntimeException e) {
            reportOnce(file, "not a usable MetalMachine (" + StandaloneResourceStore.rootMessage(e) + "); "
                    + (current != null ? "keeping the last good version" : "ignored until fixed"));
            return;
        }
        reported.remove(file);
        loaded.put(key, new Loaded(metalMachine, stamp));
        if (current == null || !current.metalMachine().equals(metalMachine)) {
            log.debug("metal machine {} loaded from {}", key, file);
        }
        cache.put(metalMachine);
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
