package dev.siderolink.server.inventory.standalone;

import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.inventory.CachedResourceStore;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ResourceNames;
import dev.siderolink.server.inventory.Secrets;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.ServerBindingResources;
import dev.siderolink.server.inventory.StoreUnavailableException;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/** {@link ResourceStore} on a directory of Kubernetes-shaped YAML files. */
public class StandaloneResourceStore extends CachedResourceStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StandaloneResourceStore.class);
    static final String SECRET_FILE = "secret-siderolink.yaml";
    static final String BINDINGS_DIR = "serverbindings";
    static final String METALMACHINES_DIR = "metalmachines";
    private static final String YAML = ".yaml";
    private static final int LOCK_STRIPES = 256;
    static final int DEFAULT_IO_THREADS = 8;
    /** Threads for writes that wait for their own fsync (a new binding, a Secret): a burst of new nodes. */
    static final int SYNC_THREADS = 64;
    /** How often the journal's files are fsynced and its segment deleted (sooner past {@link #CHECKPOINT_BYTES}). */
    static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(10);
    static final long CHECKPOINT_BYTES = 32L << 20;

    private final Path dir;
    private final Path bindingsDir;
    private final String namespace;
    private final boolean autoAccept;
    private final AtomicFiles files;
    /** What makes status writes durable: one fsync per group of writes instead of two per file. */
    private final Journal journal;
    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final YamlFiles yaml = new YamlFiles(serialization);
    /** What we last read or wrote per binding, to tell our own writes from hand edits. */
    private final Map<String, Loaded> loaded = new ConcurrentHashMap<>();
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    private final Set<Path> reportedBad = ConcurrentHashMap.newKeySet();
    private final MetalMachineFiles metalMachines;
    private final Scheduler rescanScheduler = Schedulers.newSingle("standalone-rescan", true);
    private final Scheduler checkpointScheduler = Schedulers.newSingle("standalone-journal", true);
    private final Disposable checkpoints;
    private volatile Instant lastCheckpoint = Instant.now();
    /** Where file reads and writes run: never on an event loop. */
    private final ExecutorService ioThreads;
    /**
     * One queue for all IO threads (boundedElastic queues per worker: a write could wait behind a
     * slow fsync while other threads were idle).
     */
    private final Scheduler io;
    /**
     * Where writes that wait for their own fsync run (creating a binding or a Secret), so that a
     * burst of new nodes does not hold up the status writes, which only wait for the journal.
     */
    private final ExecutorService syncThreads;
    private final Scheduler syncIo;
    private volatile Disposable rescans;
    private volatile boolean synced;
    private volatile Instant lastRescan;
    private volatile String rescanError;

    /** A file's identity and content as last seen. */
    record Stamp(Object fileKey, long size, long modifiedNanos) {
        static Stamp of(BasicFileAttributes attrs) {
            return new Stamp(attrs.fileKey(), attrs.size(), attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS));
        }
    }

    private record Loaded(GenericKubernetesResource resource, Stamp stamp) {}

    /** A thread of {@link #io} or {@link #syncIo}. */
    private static final class IoThread extends Thread {
        private static final AtomicInteger COUNT = new AtomicInteger();

        IoThread(Runnable task, String prefix) {
            super(task, prefix + COUNT.incrementAndGet());
            setDaemon(true);
        }
    }

    private static ExecutorService ioPool(int threads, String prefix) {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                task -> new IoThread(task, prefix));
        executor.allowCoreThreadTimeOut(true); // idle most of the time: no threads kept for nothing
        return executor;
    }

    /** Runs {@code work} on an IO thread; work started from one runs right there. */
    private <T> Mono<T> onIo(Callable<T> work) {
        return on(io, work);
    }

    /** Runs {@code work}, which waits for its own fsync, on a thread of {@link #syncIo}. */
    private <T> Mono<T> onSyncIo(Callable<T> work) {
        return on(syncIo, work);
    }

    private static <T> Mono<T> on(Scheduler scheduler, Callable<T> work) {
        return Mono.defer(() -> Thread.currentThread() instanceof IoThread
                ? Mono.fromCallable(work)
                : Mono.fromCallable(work).subscribeOn(scheduler));
    }

    public StandaloneResourceStore(Path dir, String namespace, boolean autoAccept) {
        this(dir, namespace, autoAccept, DEFAULT_IO_THREADS);
    }

    public StandaloneResourceStore(Path dir, String namespace, boolean autoAccept, int ioThreads) {
        this(dir, namespace, autoAccept, new AtomicFiles(), ioThreads);
    }

    StandaloneResourceStore(Path dir, String namespace, boolean autoAccept, AtomicFiles files) {
        this(dir, namespace, autoAccept, files, DEFAULT_IO_THREADS);
    }

    private StandaloneResourceStore(Path dir, String namespace, boolean autoAccept, AtomicFiles files, int ioThreads) {
        this.ioThreads = ioPool(ioThreads, "standalone-io-");
        this.io = Schedulers.fromExecutorService(this.ioThreads, "standalone-io");
        this.syncThreads = ioPool(SYNC_THREADS, "standalone-sync-");
        this.syncIo = Schedulers.fromExecutorService(this.syncThreads, "standalone-sync");
        this.dir = dir.toAbsolutePath().normalize();
        this.bindingsDir = this.dir.resolve(BINDINGS_DIR);
        this.namespace = namespace;
        this.autoAccept = autoAccept;
        this.files = files;
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
        prepareDirectory();
        recoverJournal();
        try {
            Journal.Flusher eachFile = Journal.Flusher.eachFile(Journal::fsync);
            this.journal = new Journal(this.dir, java.time.Clock.systemUTC(), Journal::fsync, new FileSystemSync(this.dir, Duration.ofMinutes(1), eachFile));
        } catch (IOException e) {
            throw new StandaloneStateException("cannot create " + this.dir.resolve(Journal.DIRECTORY) + " (" + describe(e) + ")", e);
        }
        this.metalMachines = new MetalMachineFiles(this.dir.resolve(METALMACHINES_DIR), metalMachineCache, serialization, yaml, files, journal);
        rescan();
        synced = true;
        this.checkpoints = Flux.interval(Duration.ofSeconds(1), checkpointScheduler).subscribe(tick -> checkpointIfDue());
        log.info("standalone state in {}: {} server bindings, {} metal machines", this.dir, cache.all().size(), metalMachineCache.all().size());
    }

    private void prepareDirectory() {
        try {
            Files.createDirectories(bindingsDir);
            Files.createDirectories(dir.resolve(METALMACHINES_DIR));
            if (!Files.isWritable(dir) || !Files.isWritable(bindingsDir) || !Files.isReadable(bindingsDir)) {
                throw new AccessDeniedException(dir.toString());
            }
            cleanTempFiles(dir);
            cleanTempFiles(bindingsDir);
            MetalMachineFiles.cleanTempFiles(dir.resolve(METALMACHINES_DIR));
        } catch (IOException e) {
            throw new StandaloneStateException("cannot use the standalone state directory " + dir + " (" + describe(e)
                    + "): make it a writable directory or set siderolink.standalone.dir to one", e);
        }
    }

    private static void cleanTempFiles(Path directory) throws IOException {
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, p -> AtomicFiles.isTemp(p))) {
            for (Path temp : stream) {
                // left by a crash between write and rename: the real file is the old version, intact
                Files.deleteIfExists(temp);
                log.info("removed {} left by an interrupted write", temp);
            }
        }
    }

    private static String describe(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    /** Starts the periodic rescan that picks up files changed by hand. */
    public void startRescans(Duration interval) {
        rescans = Flux.interval(interval, interval, rescanScheduler)
                .onBackpressureDrop()
                .subscribe(tick -> {
                    try {
                        rescan();
                        rescanError = null;
                    } catch (RuntimeException e) {
                        rescanError = e.getMessage();
                        log.warn("rescan of {} failed: {}", dir, e.toString());
                    }
                });
    }

    @Override
    public void close() {
        stopBackgroundWork();
        ioThreads.shutdown();
        syncThreads.shutdown();
        try {
            // writes in progress get their commit
            ioThreads.awaitTermination(10, TimeUnit.SECONDS);
            syncThreads.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            journal.close(); // every file durable by itself: nothing left to recover
        } catch (IOException e) {
            log.warn("standalone journal: final checkpoint failed ({}); the next start puts the files back from it", e.toString());
        }
    }

    /** For tests: stops like a killed process, without the final checkpoint (the next start recovers). */
    void crash() {
        stopBackgroundWork();
        ioThreads.shutdownNow();
        syncThreads.shutdownNow();
        journal.abandon();
    }

    private void stopBackgroundWork() {
        Disposable current = rescans;
        if (current != null) {
            current.dispose();
        }
        rescanScheduler.dispose();
        checkpoints.dispose();
        checkpointScheduler.dispose();
        io.dispose();
        syncIo.dispose();
    }

    // ---- journal ----

    /**
     * Puts back what a crashed process journalled but its files lost: a file older than its last
     * journalled write gets that write again (durably); a newer one (edited by hand since) and a
     * missing one (deleted) are left as they are.
     */
    private void recoverJournal() {
        try (Journal.Recovered recovered = Journal.recover(dir)) {
            int restored = 0;
            for (Journal.Entry entry : recovered.entries()) {
                if (restore(entry)) {
                    restored++;
                }
            }
            if (recovered.segments() > 0) {
                log.info("standalone journal: read {} segments left by a stopped server, {} files written, {} restored",
                        recovered.segments(), recovered.entries().size(), restored);
            }
            recovered.restored();
        } catch (IOException e) {
            throw new StandaloneStateException("cannot recover the journal in " + dir.resolve(Journal.DIRECTORY) + " (" + describe(e)
                    + "): the files may miss the last status writes before a crash", e);
        }
    }

    private boolean restore(Journal.Entry entry) throws IOException {
        Path file = entry.file();
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            log.info("standalone journal: {} was deleted after its last status write; not recreated", file);
            return false;
        }
        if (java.util.Arrays.equals(Files.readAllBytes(file), entry.content())) {
            return false;
        }
        if (attrs.lastModifiedTime().toInstant().isAfter(entry.written())) {
            log.info("standalone journal: {} was changed after its last status write ({}); kept as it is", file, entry.written());
            return false;
        }
        files.write(file, entry.content(), false);
        log.info("standalone journal: {} restored to its last status write ({}), lost in a crash", file, entry.written());
        return true;
    }

    private void checkpointIfDue() {
        Instant now = Instant.now();
        if (journal.pendingBytes() < CHECKPOINT_BYTES && now.isBefore(lastCheckpoint.plus(CHECKPOINT_INTERVAL))) {
            return;
        }
        try {
            journal.checkpoint();
            lastCheckpoint = now;
        } catch (IOException | RuntimeException e) {
            log.warn("standalone journal: checkpoint failed ({}); retried in a second, the journal is kept meanwhile", e.toString());
        }
    }

    /** Fsyncs the files written since the last checkpoint and deletes the journal segments that covered them. */
    void checkpoint() throws IOException {
        journal.checkpoint();
    }

    /**
     * Completes when the journal commit of a write is done (at once without one). Never waits in a
     * thread: what follows runs on the journal's commit thread.
     */
    private Mono<Void> durable(Journal.Ticket ticket, Path file) {
        if (ticket == null) {
            return Mono.empty();
        }
        return Mono.fromFuture(() -> journal.durable(ticket), true)
                .onErrorMap(e -> new StoreUnavailableException("cannot make the write of " + file + " durable: " + rootMessage(e), e));
    }

    // ---- installation Secret ----

    @Override
    public Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator) {
        return onSyncIo(() -> {
                    Path file = dir.resolve(SECRET_FILE);
                    if (Files.exists(file)) {
                        return readSecret(file);
                    }
                    InstallationSecret fresh = generator.get();
                    if (files.createExclusive(file, yaml.toYaml(encodeSecret(fresh)), true)) {
                        log.info("created {} for a new SideroLink installation", file);
                        return fresh;
                    }
                    return readSecret(file); // another process won the race
                });
    }

    @Override
    public Mono<Map<String, String>> loadOrCreateSecret(String name, Supplier<Map<String, String>> generator) {
        return onSyncIo(() -> {
                    Path file = dir.resolve("secret-" + name + ".yaml");
                    if (Files.exists(file)) {
                        return readSecretData(file);
                    }
                    Map<String, String> fresh = generator.get();
                    Secret secret = Secrets.of(name, namespace, fresh);
                    if (files.createExclusive(file, yaml.toYaml(secret), true)) {
                        log.info("created {}", file);
                        return fresh;
                    }
                    return readSecretData(file); // another process won the race
                });
    }

    private Map<String, String> readSecretData(Path file) {
        Secret secret;
        try {
            secret = serialization.unmarshal(Files.readString(file), Secret.class);
        } catch (IOException | RuntimeException e) {
            throw new StandaloneStateException("cannot read " + file + " (" + e.getClass().getSimpleName() + "): restore it from a backup, or delete it", e);
        }
        Map<String, String> data = secret == null || secret.getData() == null ? Map.of() : secret.getData();
        Map<String, String> result = new java.util.TreeMap<>();
        data.forEach((key, value) -> result.put(key, secretValue(file, data, key)));
        return result;
    }

    private Secret encodeSecret(InstallationSecret secret) {
        return Secrets.of(InstallationSecret.NAME, namespace,
                Map.of(InstallationSecret.INSTALLATION_ID_KEY, secret.installationId(), InstallationSecret.PRIVATE_KEY_KEY, secret.privateKey()));
    }

    private InstallationSecret readSecret(Path file) {
        Secret secret;
        try {
            secret = serialization.unmarshal(Files.readString(file), Secret.class);
        } catch (IOException | RuntimeException e) {
            throw new StandaloneStateException("cannot read " + file + " (" + e.getClass().getSimpleName()
                    + "): restore it from a backup, or delete it to start a new installation (every node then re-provisions)", e);
        }
        Map<String, String> data = secret == null || secret.getData() == null ? Map.of() : secret.getData();
        return new InstallationSecret(secretValue(file, data, InstallationSecret.INSTALLATION_ID_KEY), secretValue(file, data, InstallationSecret.PRIVATE_KEY_KEY));
    }

    private static String secretValue(Path file, Map<String, String> data, String key) {
        String value = data.get(key);
        if (value == null) {
            throw new StandaloneStateException(file + " has no data." + key + ": restore it, or delete the file to start a new installation", null);
        }
        try {
            return new String(Base64.getDecoder().decode(value.trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new StandaloneStateException(file + " data." + key + " is not base64", e);
        }
    }

    // ---- ServerBindings ----

    @Override
    public Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update) {
        return lockedUpdate(uuid, autoAccept, resource -> {
            ServerBinding.Siderolink now = ServerBindingResources.toBinding(resource).siderolink();
            ServerBinding.Siderolink next = update.apply(now);
            if (next.equals(now)) {
                return false;
            }
            ServerBindingResources.setSiderolink(resource, next);
            return true;
        });
    }

    @Override
    public Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<Condition>> update) {
        return lockedUpdate(uuid, false, resource -> {
            List<Condition> now = ServerBindingResources.toBinding(resource).conditions();
            List<Condition> next = update.apply(now);
            if (next.equals(now)) {
                return false;
            }
            ServerBindingResources.setConditions(resource, next);
            return true;
        });
    }

    /** One write of the binding file for the spec part (addresses, hostname) and the status part (conditions). */
    @Override
    public Mono<ServerBinding> updateReport(String uuid, UnaryOperator<NodeReport> update) {
        return lockedUpdate(uuid, false, reportUpdate(update));
    }

    private static Predicate<GenericKubernetesResource> reportUpdate(UnaryOperator<NodeReport> update) {
        return resource -> {
            NodeReport now = ServerBindingResources.toBinding(resource).report();
            NodeReport next = update.apply(now);
            if (next.equals(now)) {
                return false;
            }
            ServerBindingResources.setReport(resource, next);
            return true;
        };
    }

    /**
     * The binding and its MetalMachine written one after the other, then made durable together:
     * both records usually share one journal commit, where two calls would wait for two.
     */
    @Override
    public Mono<Mirrored> updateReportAndMirror(String uuid, UnaryOperator<NodeReport> update,
            BiFunction<ServerBinding, MetalMachineStatus, MetalMachineStatus> mirror) {
        ResourceNames.require(uuid);
        record Written(Updated binding, MetalMachine.Key key, MetalMachineFiles.Written machine) {}
        return onIo(() -> {
                    Updated updated = lockedWrite(uuid, false, reportUpdate(update));
                    ServerBinding binding = updated.binding();
                    MetalMachine.Key key = ServerBinding.metalMachineKey(binding);
                    MetalMachineFiles.Written machine;
                    try {
                        machine = key == null ? null : metalMachines.writeStatus(key, status -> mirror.apply(binding, status));
                    } catch (RuntimeException e) {
                        // The binding's record still gets its commit; a re-sent event finds the binding
                        // unchanged and waits for that commit (Journal.uncommitted) before its answer.
                        if (updated.ticket() != null) {
                            journal.durable(updated.ticket());
                        }
                        throw e;
                    }
                    return new Written(updated, key, machine);
                })
                .flatMap(written -> {
                    Mono<Void> bindingDurable = durable(written.binding().ticket(), bindingFile(uuid));
                    if (written.machine() == null) {
                        return bindingDurable.thenReturn(new Mirrored(written.binding().binding(), null));
                    }
                    Mono<Void> machineDurable = written.machine().ticket() == null
                            ? Mono.empty()
                            : durable(written.machine().ticket(), metalMachines.file(written.key()));
                    return Mono.when(bindingDurable, machineDurable).thenReturn(new Mirrored(written.binding().binding(), written.machine().found()));
                });
    }

    // ---- MetalMachines ----

    /** Rewrites {@code metalmachines/<namespace>/<name>.yaml}; never creates one (false when it does not exist). */
    @Override
    public Mono<Boolean> updateMetalMachineStatus(MetalMachine.Key key, UnaryOperator<MetalMachineStatus> update) {
        return onIo(() -> metalMachines.writeStatus(key, update))
                .flatMap(written -> written.ticket() == null
                        ? Mono.just(written.found())
                        : durable(written.ticket(), metalMachines.file(key)).thenReturn(written.found()));
    }

    // ---- ServerBindings: file handling ----

    /** Runs {@code mutate} on a copy of the binding under its lock; writes the file when it says it changed something. */
    private Mono<ServerBinding> lockedUpdate(String uuid, boolean create, Predicate<GenericKubernetesResource> mutate) {
        ResourceNames.require(uuid);
        // A binding not known yet is created durably (its own fsync): on the threads meant for that.
        Callable<Updated> write = () -> lockedWrite(uuid, create, mutate);
        return (create && binding(uuid).isEmpty() ? onSyncIo(write) : onIo(write))
                .flatMap(updated -> durable(updated.ticket(), bindingFile(uuid)).thenReturn(updated.binding()));
    }

    /** The write under the binding's lock; its journal commit is awaited after (other servers on this lock stripe need not wait for it). */
    private Updated lockedWrite(String uuid, boolean create, Predicate<GenericKubernetesResource> mutate) throws IOException {
        ReentrantLock lock = lockFor(uuid);
        lock.lock();
        try {
            return updateLocked(uuid, create, mutate);
        } finally {
            lock.unlock();
        }
    }

    /** A binding as written, and the journal commit to wait for before it counts as stored (null: none, durable already). */
    private record Updated(ServerBinding binding, Journal.Ticket ticket) {}

    private Updated updateLocked(String uuid, boolean create, Predicate<GenericKubernetesResource> mutate) throws IOException {
        Path file = bindingFile(uuid);
        // A hand edit since the last rescan must not be overwritten: re-read a changed file, and
        // refuse to replace one that does not parse (the operator's half-done edit would be lost).
        if (!refreshLocked(uuid, file)) {
            throw new StoreUnavailableException("not writing " + file + ": it does not parse as a ServerBinding;"
                    + " nothing is written to it until it is fixed", null);
        }
        Loaded current = loaded.get(uuid);
        GenericKubernetesResource resource;
        if (current != null) {
            resource = serialization.clone(current.resource());
        } else if (create) {
            resource = ServerBindingResources.newBinding(uuid);
        } else {
            throw new BindingNotFoundException(uuid);
        }
        if (!mutate.test(resource) && current != null) {
            return new Updated(ServerBindingResources.toBinding(resource), journal.unchanged(file));
        }
        BasicFileAttributes written;
        Journal.Ticket ticket = null;
        try {
            byte[] content = yaml.toYaml(resource);
            if (current == null) {
                // A new file durably at once: after a crash, a missing file means deleted by hand.
                written = files.write(file, content, false);
            } else {
                written = files.writeVisible(file, content);
                ticket = journal.append(file, content);
            }
        } catch (IOException e) {
            throw new StoreUnavailableException("cannot write " + file + ": " + e.getMessage(), e);
        }
        if (current == null) {
            log.info("auto-accepted new server {}: created {}", uuid, file);
        }
        ServerBinding after = ServerBindingResources.toBinding(resource);
        loaded.put(uuid, new Loaded(resource, Stamp.of(written)));
        cache.put(after);
        return new Updated(after, ticket);
    }

    private ReentrantLock lockFor(String uuid) {
        return locks[Math.floorMod(uuid.hashCode(), locks.length)];
    }

    private Path bindingFile(String uuid) {
        return bindingsDir.resolve(uuid + YAML);
    }

    /**
     * Reads every binding and MetalMachine file whose stamp changed, and forgets files that are gone.
     * MetalMachines first: a binding written together with its MetalMachine is then annotated
     * complete at once, not first without its Machine.
     */
    void rescan() {
        metalMachines.rescan();
        Set<String> seen = new HashSet<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(bindingsDir, "*" + YAML)) {
            for (Path file : stream) {
                if (AtomicFiles.isTemp(file) || file.getFileName().toString().startsWith(".")) {
                    continue;
                }
                String uuid = file.getFileName().toString().substring(0, file.getFileName().toString().length() - YAML.length());
                if (ResourceNames.problem(uuid) != null) {
                    reportOnce(file, "its name is not a valid server UUID / resource name; ignored");
                    continue;
                }
                seen.add(uuid);
                ReentrantLock lock = lockFor(uuid);
                lock.lock();
                try {
                    refreshLocked(uuid, file);
                } finally {
                    lock.unlock();
                }
            }
        } catch (IOException e) {
            throw new StandaloneStateException("cannot list " + bindingsDir + ": " + describe(e), e);
        }
        lastRescan = Instant.now();
        for (String uuid : Set.copyOf(loaded.keySet())) {
            if (!seen.contains(uuid)) {
                ReentrantLock lock = lockFor(uuid);
                lock.lock();
                try {
                    if (!Files.exists(bindingFile(uuid))) {
                        loaded.remove(uuid);
                        files.forget(bindingFile(uuid));
                        cache.remove(uuid);
                        log.info("server binding {} removed (file deleted)", uuid);
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * Brings the cache for one binding up to date with its file; caller holds the lock. False when
     * the file exists but does not parse (the cache then keeps the last good version, if any).
     */
    private boolean refreshLocked(String uuid, Path file) throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (loaded.remove(uuid) != null) {
                files.forget(file);
                cache.remove(uuid);
                log.info("server binding {} removed (file deleted)", uuid);
            }
            return true;
        }
        Stamp stamp = Stamp.of(attrs);
        Loaded current = loaded.get(uuid);
        if (current != null && current.stamp().equals(stamp)) {
            return true;
        }
        GenericKubernetesResource resource;
        try {
            resource = serialization.unmarshal(Files.readString(file), GenericKubernetesResource.class);
            validate(uuid, resource);
        } catch (IOException | RuntimeException e) {
            // Keep the last good version: a half-typed edit must not make a node unknown.
            reportOnce(file, "it does not parse as a ServerBinding (" + rootMessage(e) + "); "
                    + (current != null ? "keeping the last good version" : "ignored until fixed"));
            return false;
        }
        reportedBad.remove(file);
        loaded.put(uuid, new Loaded(resource, stamp));
        ServerBinding binding = ServerBindingResources.toBinding(resource);
        if (current == null || !Objects.equals(ServerBindingResources.toBinding(current.resource()), binding)) {
            log.debug("server binding {} loaded from {}", uuid, file);
        }
        cache.put(binding);
        return true;
    }

    private static void validate(String uuid, GenericKubernetesResource resource) {
        if (resource == null) {
            throw new IllegalArgumentException("empty file");
        }
        if (!ServerBindingResources.KIND.equals(resource.getKind())) {
            throw new IllegalArgumentException("kind is " + resource.getKind() + ", expected " + ServerBindingResources.KIND);
        }
        if (resource.getMetadata() == null || !uuid.equals(resource.getMetadata().getName())) {
            throw new IllegalArgumentException("metadata.name must equal the file name, " + uuid);
        }
    }

    private void reportOnce(Path file, String problem) {
        if (reportedBad.add(file)) {
            log.warn("standalone state: {}: {}", file, problem);
        }
    }

    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        String message = t.getMessage();
        return message == null ? t.getClass().getSimpleName() : message.lines().findFirst().orElse(message);
    }

    @Override
    public boolean isSynced() {
        return synced;
    }

    /** The directory, when it was last read completely, and why the latest rescan failed (if it did). */
    @Override
    public Map<String, Object> healthDetails() {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("directory", dir.toString());
        details.putAll(journal.details());
        Instant last = lastRescan;
        details.put("lastRescan", last == null ? "never" : last.toString());
        String error = rescanError;
        if (error != null) {
            details.put("rescanError", error);
        }
        return details;
    }

    public Path directory() {
        return dir;
    }
}
