package dev.siderolink.server.output;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Queue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * The one thread that writes a target. Producers hand over {@link LineChunk}s; the queue is
 * bounded in bytes: {@link #offer} refuses a chunk that does not fit, {@link #submit} always takes
 * it but returns a signal to wait on until the queue has drained below half (TCP readers pause on
 * it, so at most one chunk per paused connection is queued beyond the limit).
 *
 * <p>The output is flushed whenever the queue runs empty, so a quiet stream is written at once
 * and a busy one in large writes.
 */
public final class LineWriter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LineWriter.class);
    private static final LineChunk STOP = new LineChunk(new byte[0], 0, 0, null);

    private final String name;
    private final OutputStream out;
    private final long capacity;
    private final long resumeBelow;
    private final BlockingQueue<LineChunk> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final Queue<MonoSink<Void>> waiting = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private final AtomicLong writeErrors = new AtomicLong();
    private volatile boolean closed;
    private volatile String lastError;
    private volatile boolean failing;

    /**
     * @param name the target, for thread names and messages
     * @param out where lines go; buffered by the caller as it sees fit, flushed when idle
     * @param capacityBytes bytes queued before producers are refused or asked to wait
     */
    public LineWriter(String name, OutputStream out, long capacityBytes) {
        this.name = name;
        this.out = out;
        this.capacity = capacityBytes;
        this.resumeBelow = capacityBytes / 2;
        this.thread = new Thread(this::run, "line-writer-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues the chunk if it fits; false (nothing queued) when the queue is full or closed. */
    public boolean offer(LineChunk chunk) {
        if (closed) {
            return false;
        }
        if (queuedBytes.addAndGet(chunk.length()) > capacity) {
            queuedBytes.addAndGet(-chunk.length());
            return false;
        }
        queue.add(chunk);
        return true;
    }

    /**
     * Queues the chunk whatever the queue's size; the returned signal completes at once when there
     * was room, otherwise when the writer has caught up to half the capacity. A closed writer
     * refuses the chunk (the stream is told it failed) and completes at once.
     */
    public Mono<Void> submit(LineChunk chunk) {
        if (closed) {
            chunk.stream().failed(chunk.lines());
            return Mono.empty();
        }
        long queued = queuedBytes.addAndGet(chunk.length());
        queue.add(chunk);
        if (queued <= capacity) {
            return Mono.empty();
        }
        return Mono.create(sink -> {
            waiting.add(sink);
            if (queuedBytes.get() <= resumeBelow || closed) {
                releaseWaiting(); // the writer drained between our check and our enqueue
            }
        });
    }

    public long queuedBytes() {
        return queuedBytes.get();
    }

    public long capacity() {
        return capacity;
    }

    public long writeErrors() {
        return writeErrors.get();
    }

    /** The last write error, or null when every write since start succeeded. */
    public String lastError() {
        return lastError;
    }

    public boolean isAlive() {
        return thread.isAlive();
    }

    /**
     * True when the writer thread has ended without {@link #close}: nothing is written any more and
     * nothing restarts it (its loop handles every write error; only an Error such as
     * OutOfMemoryError, or an interrupt, ends it). Health's reason to ask for a restart.
     */
    public boolean isDead() {
        return !closed && !thread.isAlive();
    }

    /** Why this output does not work, for health; null when it does. */
    public String problem() {
        if (!isAlive()) {
            return "the writer thread has stopped";
        }
        return failing ? "writes are failing: " + lastError : null;
    }

    /** True while the latest write or flush failed (the output is broken: disk full, pipe closed). */
    public boolean isFailing() {
        return failing;
    }

    public String name() {
        return name;
    }

    private void run() {
        try {
            while (true) {
                LineChunk chunk = queue.poll();
                if (chunk == null) {
                    flush();
                    chunk = queue.take();
                }
                if (chunk == STOP) {
                    flush();
                    return;
                }
                write(chunk);
                if (queuedBytes.addAndGet(-chunk.length()) <= resumeBelow && !waiting.isEmpty()) {
                    releaseWaiting();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            // Chunks queued after the stop marker (a producer racing close) are counted, not lost silently.
            LineChunk late;
            while ((late = queue.poll()) != null) {
                if (late != STOP) {
                    late.stream().failed(late.lines());
                }
            }
            releaseWaiting();
        }
    }

    private void write(LineChunk chunk) {
        try {
            out.write(chunk.bytes(), 0, chunk.length());
            chunk.stream().written(chunk.lines(), chunk.length());
            failing = false;
        } catch (IOException | RuntimeException e) {
            chunk.stream().failed(chunk.lines());
            lastError = e.toString();
            failing = true;
            // One message per failure streak's first error and then every 1000th, not per chunk.
            if (writeErrors.getAndIncrement() % 1000 == 0) {
                log.error("cannot write to {}: {} ({} failed writes so far; the lines are dropped and counted)", name, e, writeErrors.get());
            }
        }
    }

    private void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            lastError = e.toString();
            failing = true;
            if (writeErrors.getAndIncrement() % 1000 == 0) {
                log.error("cannot flush {}: {}", name, e.toString());
            }
        }
    }

    private void releaseWaiting() {
        MonoSink<Void> sink;
        while ((sink = waiting.poll()) != null) {
            sink.success();
        }
    }

    /** Writes what is queued (waiting up to {@code timeoutMillis}), flushes and stops the thread. */
    public void close(long timeoutMillis) {
        closed = true;
        queue.add(STOP);
        try {
            thread.join(timeoutMillis);
            if (thread.isAlive()) {
                log.warn("{}: {} bytes still queued after {} ms at shutdown; giving up on them", name, queuedBytes.get(), timeoutMillis);
                thread.interrupt();
                thread.join(TimeUnit.SECONDS.toMillis(1));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        releaseWaiting();
    }

    @Override
    public void close() {
        close(TimeUnit.SECONDS.toMillis(10));
    }
}
