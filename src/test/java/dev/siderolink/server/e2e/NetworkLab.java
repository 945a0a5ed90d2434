package dev.siderolink.server.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A test host: a network namespace joined to the root namespace by a veth pair, with IPv6
 * addresses of our own on both ends (a random ULA /64, so parallel runs never collide). Everything
 * it creates, namespaces, links and processes, goes away in {@link #close()}, also after a failure.
 */
final class NetworkLab implements AutoCloseable {

    final String namespace;
    final String hostVeth;
    final String nodeVeth;
    final String hostAddress;
    final String nodeAddress;
    private final List<Process> processes = new ArrayList<>();

    /** Root, and the tools the lab and a WireGuard node need. */
    static boolean available() {
        return "root".equals(System.getProperty("user.name"))
                && Files.isExecutable(Path.of("/usr/bin/wg"))
                && (Files.isExecutable(Path.of("/usr/bin/wireguard-go")) || Files.isExecutable(Path.of("/usr/sbin/wireguard-go")))
                && (Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/usr/bin/ip")))
                && Files.exists(Path.of("/dev/net/tun"));
    }

    NetworkLab() throws IOException, InterruptedException {
        String id = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        namespace = "sl-e2e-" + id;
        hostVeth = "slh" + id;
        nodeVeth = "sln" + id;
        String prefix = "fd5e:" + id.substring(0, 4) + ":" + id.substring(4) + "::";
        hostAddress = prefix + "1";
        nodeAddress = prefix + "2";
        try {
            run("ip", "netns", "add", namespace);
            run("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", nodeVeth);
            run("ip", "link", "set", nodeVeth, "netns", namespace);
            run("ip", "-6", "address", "add", hostAddress + "/64", "dev", hostVeth, "nodad");
            run("ip", "link", "set", hostVeth, "up");
            inNode("ip", "-6", "address", "add", nodeAddress + "/64", "dev", nodeVeth, "nodad");
            inNode("ip", "link", "set", nodeVeth, "up");
            inNode("ip", "link", "set", "lo", "up");
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Runs a command in the root namespace; fails with its stderr. */
    static String run(String... argv) throws IOException, InterruptedException {
        return runWithInput(null, argv);
    }

    static String runWithInput(String stdin, String... argv) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try (var in = process.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", argv) + ": timed out");
        }
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", argv) + ": exit " + process.exitValue() + ": " + output.strip());
        }
        return output;
    }

    /** Runs a command inside the node's namespace. */
    String inNode(String... argv) throws IOException, InterruptedException {
        return inNodeWithInput(null, argv);
    }

    String inNodeWithInput(String stdin, String... argv) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(argv));
        return runWithInput(stdin, full.toArray(String[]::new));
    }

    /** Starts a long-running process inside the node's namespace; stopped by {@link #close()}. */
    Process spawnInNode(Map<String, String> env, String... argv) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace));
        full.addAll(List.of(argv));
        ProcessBuilder builder = new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().putAll(env);
        Process process = builder.start();
        synchronized (processes) {
            processes.add(process);
        }
        return process;
    }

    @Override
    public void close() {
        synchronized (processes) {
            for (Process p : processes) {
                p.destroy();
            }
            for (Process p : processes) {
                try {
                    if (!p.waitFor(5, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        quietly("ip", "netns", "del", namespace); // takes the node's links with it
        quietly("ip", "link", "del", hostVeth);
    }

    private static void quietly(String... argv) {
        try {
            run(argv);
        } catch (IOException | InterruptedException e) {
            // already gone
        }
    }
}
