package dev.siderolink.server.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A test-only interface holding test addresses (each a /128, no duplicate address detection), so
 * that sockets can be bound to SideroLink addresses and receive from several "nodes" on one host
 * without touching real interfaces. It is one end of a veth pair whose other end stays down (this
 * kernel has no {@code dummy} module); traffic between its addresses is local delivery. Needs
 * root; removed, with its peer, in {@link #close()}.
 */
public final class DummyInterface implements AutoCloseable {

    public final String name;

    /** Root and iproute2: the capability these tests need (CI runs as root). */
    public static boolean available() {
        return "root".equals(System.getProperty("user.name"))
                && (Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/usr/bin/ip")));
    }

    public DummyInterface() throws IOException, InterruptedException {
        name = "sld" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xffffff));
        run("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p");
        try {
            run("ip", "link", "set", name, "up");
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    public DummyInterface add(InetAddress address) throws IOException, InterruptedException {
        run("ip", "-6", "address", "add", address.getHostAddress() + "/128", "dev", name, "nodad");
        return this;
    }

    @Override
    public void close() {
        try {
            run("ip", "link", "del", name);
        } catch (IOException | InterruptedException e) {
            // already gone
        }
    }

    private static void run(String... argv) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            process.destroyForcibly();
            throw new IOException(String.join(" ", argv) + " failed: " + output.strip());
        }
    }
}
