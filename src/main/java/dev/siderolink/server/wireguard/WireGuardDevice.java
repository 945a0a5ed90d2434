package dev.siderolink.server.wireguard;

import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.SiderolinkNetwork;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code siderolink} interface: created with the kernel module when it works, else with
 * {@code wireguard-go} (per {@code siderolink.wireguard.userspace}), configured with the
 * installation's private key (on standard input), listen port, {@code <server address>/64}, MTU
 * 1280, up. Reuses an interface that is already there; on close removes only what it created.
 * Not thread-safe: the reconciler's single thread drives it.
 */
public class WireGuardDevice implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WireGuardDevice.class);
    /** Talos and Sidero use 1280, the IPv6 minimum: the tunnel works on any underlying path. */
    static final int MTU = 1280;
    private static final Duration USERSPACE_START = Duration.ofSeconds(10);
    /** Linux's argv limit is about 2 MiB in all; one {@code wg set} stays well below it. */
    private static final int MAX_ARGV_BYTES = 1 << 20;
    static final Path UAPI_DIR = Path.of("/var/run/wireguard");

    /** How the interface is implemented. */
    public enum Mode {
        KERNEL,
        USERSPACE
    }

    private final WgCommands commands;
    private final String name;
    private final WireguardProperties properties;
    private final InstallationIdentity identity;
    private final Clock clock;
    private Process userspace;
    private boolean created;
    private volatile Mode mode;
    private volatile Instant configuredAt;

    public WireGuardDevice(WgCommands commands, WireguardProperties properties, InstallationIdentity identity, Clock clock) {
        this.commands = commands;
        this.name = properties.interfaceName();
        this.properties = properties;
        this.identity = identity;
        this.clock = clock;
    }

    public String name() {
        return name;
    }

    public Mode mode() {
        return mode;
    }

    /** When the interface was last (re)configured: handshakes before that are unknown. */
    public Instant configuredAt() {
        return configuredAt;
    }

    /** Creates the interface if it is missing, then (re)applies key, port, address, MTU and up. */
    public void ensure() {
        if (!exists()) {
            create();
        } else if (mode == null) {
            mode = userspaceSocketExists() ? Mode.USERSPACE : Mode.KERNEL;
            log.info("reusing existing WireGuard interface {} ({})", name, mode);
        }
        configure();
    }

    /** The interface's state, or null when it does not exist. */
    public WgDump dumpOrNull() {
        try {
            return WgDumpParser.parse(commands.run(List.of("wg", "show", name, "dump")).stdout());
        } catch (CommandException e) {
            if (e.kind() == CommandException.Kind.FAILED && isMissingInterface(e.stderr())) {
                return null;
            }
            throw e;
        }
    }

    /** Applies peer changes: one {@code wg set} call, split only if its argv would outgrow the kernel's limit. */
    public int apply(List<PeerPlan.Change> changes) {
        int calls = 0;
        List<String> args = PeerPlan.arguments(changes);
        List<String> batch = new ArrayList<>();
        int bytes = 0;
        for (int i = 0; i < args.size(); ) {
            int width = args.get(i + 2).equals("remove") ? 3 : 4; // "peer K remove" | "peer K allowed-ips IP"
            List<String> one = args.subList(i, i + width);
            int size = one.stream().mapToInt(a -> a.length() + 1 + 8).sum();
            if (bytes + size > MAX_ARGV_BYTES && !batch.isEmpty()) {
                set(batch);
                calls++;
                batch = new ArrayList<>();
                bytes = 0;
            }
            batch.addAll(one);
            bytes += size;
            i += width;
        }
        if (!batch.isEmpty()) {
            set(batch);
            calls++;
        }
        return calls;
    }

    private void set(List<String> peerArgs) {
        List<String> argv = new ArrayList<>(peerArgs.size() + 3);
        argv.addAll(List.of("wg", "set", name));
        argv.addAll(peerArgs);
        commands.run(argv, null, Duration.ofSeconds(60));
    }

    /** {@code ip -o link show}: present and administratively up. */
    public boolean isUp() {
        try {
            String line = commands.run(List.of("ip", "-o", "link", "show", "dev", name)).stdout();
            int open = line.indexOf('<');
            int close = line.indexOf('>');
            return open >= 0 && close > open && List.of(line.substring(open + 1, close).split(",")).contains("UP");
        } catch (CommandException e) {
            return false;
        }
    }

    private boolean exists() {
        try {
            commands.run(List.of("ip", "link", "show", "dev", name));
            return true;
        } catch (CommandException e) {
            if (e.kind() == CommandException.Kind.FAILED) {
                return false;
            }
            throw e;
        }
    }

    private void create() {
        stopUserspace(); // a crashed wireguard-go of ours, if any
        WireguardProperties.Userspace policy = properties.userspace();
        if (policy != WireguardProperties.Userspace.ALWAYS) {
            try {
                commands.run(List.of("ip", "link", "add", "dev", name, "type", "wireguard"));
                mode = Mode.KERNEL;
                created = true;
                log.info("created WireGuard interface {} (kernel module)", name);
                return;
            } catch (CommandException e) {
                if (policy == WireguardProperties.Userspace.NEVER) {
                    throw new CommandException(e.kind(), List.of("ip", "link", "add", name, "type", "wireguard"), e.exitCode(), e.stderr(),
                            "the kernel cannot create a WireGuard interface (" + e.getMessage()
                                    + ") and siderolink.wireguard.userspace=never forbids wireguard-go");
                }
                log.info("kernel WireGuard unavailable ({}); using wireguard-go", e.stderr().strip());
            }
        }
        startUserspace();
    }

    private void startUserspace() {
        // -f: stay in the foreground so this process holds the handle; the variable makes it run
        // even where the kernel has WireGuard built in but no usable module
        userspace = commands.spawn(List.of("wireguard-go", "-f", name), Map.of("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1"));
        created = true;
        mode = Mode.USERSPACE;
        long deadline = System.nanoTime() + USERSPACE_START.toNanos();
        while (!(userspaceSocketExists() && exists())) {
            if (!userspace.isAlive()) {
                throw new CommandException(CommandException.Kind.FAILED, List.of("wireguard-go", "-f", name), userspace.exitValue(), "",
                        "wireguard-go exited with code " + userspace.exitValue()
                                + " (it needs root or CAP_NET_ADMIN, and /dev/net/tun)");
            }
            if (System.nanoTime() > deadline) {
                throw new CommandException(CommandException.Kind.TIMEOUT, List.of("wireguard-go", "-f", name), -1, "",
                        "interface not ready within " + USERSPACE_START.toSeconds() + " s");
            }
            sleep(20);
        }
        log.info("created WireGuard interface {} (wireguard-go, pid {})", name, userspace.pid());
    }

    private void configure() {
        String key = identity.privateKey().toBase64() + "\n";
        commands.run(List.of("wg", "set", name, "private-key", "/dev/stdin", "listen-port", String.valueOf(properties.port())), key, WgCommands.DEFAULT_TIMEOUT);
        String address = identity.network().serverAddress().toCompressedString() + "/" + SiderolinkNetwork.PREFIX_LENGTH;
        // nodad: the address is ours alone on a point-to-point link; a tentative address could not be bound
        commands.run(List.of("ip", "-6", "address", "replace", address, "dev", name, "nodad"));
        commands.run(List.of("ip", "link", "set", "dev", name, "mtu", String.valueOf(MTU), "up"));
        configuredAt = clock.instant();
    }

    private boolean userspaceSocketExists() {
        return Files.exists(UAPI_DIR.resolve(name + ".sock"));
    }

    static boolean isMissingInterface(String stderr) {
        return stderr.contains("No such device") || stderr.contains("Unable to access interface");
    }

    /** Removes the interface if this process created it, and stops the wireguard-go it started. Idempotent. */
    @Override
    public synchronized void close() {
        if (created) {
            created = false;
            try {
                commands.run(List.of("ip", "link", "del", "dev", name));
                log.info("removed WireGuard interface {}", name);
            } catch (CommandException e) {
                log.warn("could not remove WireGuard interface {}: {}", name, e.getMessage());
            }
        }
        stopUserspace();
    }

    private void stopUserspace() {
        Process process = userspace;
        userspace = null;
        if (process == null) {
            return;
        }
        try {
            // deleting the link makes wireguard-go exit by itself; give it a moment
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
