package dev.siderolink.server.wireguard;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@link WgCommands} on {@link ProcessBuilder}: stdout and stderr read concurrently (a large
 * {@code wg show dump} would otherwise fill the pipe and hang the command), standard input
 * written then closed, a hard timeout, the process killed whatever happens.
 */
public final class ProcessWgCommands implements WgCommands, AutoCloseable {

    private static final AtomicInteger THREADS = new AtomicInteger();
    private final ExecutorService pipes = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "wg-pipe-" + THREADS.incrementAndGet());
        t.setDaemon(true);
        return t;
    });

    @Override
    public Result run(List<String> argv, String stdin, Duration timeout) {
        Process process = start(new ProcessBuilder(argv), argv);
        try {
            Future<String> out = pipes.submit(() -> read(process.getInputStream()));
            Future<String> err = pipes.submit(() -> read(process.getErrorStream()));
            try (OutputStream in = process.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                // the command exited without reading its input: its exit code and stderr tell why
            }
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new CommandException(CommandException.Kind.TIMEOUT, argv, -1, "", "no answer within " + timeout.toMillis() + " ms, killed");
            }
            String stdout = out.get(5, TimeUnit.SECONDS);
            String stderr = err.get(5, TimeUnit.SECONDS);
            int code = process.exitValue();
            if (code != 0) {
                String said = stderr.isBlank() ? stdout.strip() : stderr.strip();
                throw new CommandException(CommandException.Kind.FAILED, argv, code, stderr, "exit code " + code + (said.isEmpty() ? "" : ": " + said));
            }
            return new Result(stdout, stderr);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandException(CommandException.Kind.TIMEOUT, argv, -1, "", "interrupted");
        } catch (ExecutionException | TimeoutException e) {
            throw new CommandException(CommandException.Kind.FAILED, argv, -1, "", "cannot read its output: " + e);
        } finally {
            process.destroyForcibly(); // no-op once exited; never leave a child behind
        }
    }

    @Override
    public Process spawn(List<String> argv, Map<String, String> environment) {
        ProcessBuilder builder = new ProcessBuilder(argv)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        builder.environment().putAll(environment);
        return start(builder, argv);
    }

    private static Process start(ProcessBuilder builder, List<String> argv) {
        try {
            return builder.start();
        } catch (IOException e) {
            throw new CommandException(CommandException.Kind.NOT_FOUND, argv, -1, "", "cannot run " + argv.get(0) + " (" + e.getMessage() + ")");
        }
    }

    private static String read(InputStream in) throws IOException {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Override
    public void close() {
        pipes.shutdownNow();
    }
}
