package dev.siderolink.server.testing;

import dev.siderolink.server.wireguard.CommandException;
import dev.siderolink.server.wireguard.WgCommands;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An in-memory stand-in for {@code ip} and {@code wg}, for tests that are not about WireGuard
 * itself (the real binaries are exercised by the end-to-end tests). It keeps one fake kernel's
 * worth of interfaces and records every command, so tests can count what a pass ran.
 */
public class FakeWgCommands implements WgCommands {

    /** One fake interface. */
    public static final class Link {
        public String privateKey;
        public int listenPort;
        public boolean up;
        public int mtu;
        public final List<String> addresses = new ArrayList<>();
        public final Map<String, String> peers = new LinkedHashMap<>(); // key -> allowed ip
        public final Map<String, Instant> handshakes = new LinkedHashMap<>();
    }

    public final Map<String, Link> links = Collections.synchronizedMap(new LinkedHashMap<>());
    public final List<List<String>> commands = new CopyOnWriteArrayList<>();
    public volatile boolean kernelSupportsWireGuard = true;
    /** While set, every command times out. */
    public volatile boolean broken;

    @Override
    public synchronized Result run(List<String> argv, String stdin, Duration timeout) {
        commands.add(List.copyOf(argv));
        if (broken) {
            throw new CommandException(CommandException.Kind.TIMEOUT, argv, -1, "", "no answer within " + timeout.toMillis() + " ms, killed");
        }
        String tool = argv.get(0);
        if (tool.equals("ip")) {
            return ip(argv);
        }
        if (tool.equals("wg")) {
            return wg(argv, stdin);
        }
        throw new CommandException(CommandException.Kind.NOT_FOUND, argv, -1, "", "cannot run " + tool);
    }

    @Override
    public Process spawn(List<String> argv, Map<String, String> environment) {
        throw new CommandException(CommandException.Kind.NOT_FOUND, argv, -1, "", "the fake runs no processes");
    }

    public long count(String tool, String verb) {
        return commands.stream().filter(c -> c.get(0).equals(tool) && c.size() > 1 && c.get(1).equals(verb)).count();
    }

    private Result ip(List<String> argv) {
        String name = argv.get(argv.indexOf("dev") + 1);
        Link link = links.get(name);
        if (argv.contains("add") && argv.contains("wireguard")) {
            if (!kernelSupportsWireGuard) {
                throw fail(argv, "Error: Unknown device type.");
            }
            links.put(name, new Link());
            return ok("");
        }
        if (link == null) {
            throw fail(argv, "Device \"" + name + "\" does not exist.");
        }
        if (argv.contains("del")) {
            links.remove(name);
        } else if (argv.contains("address")) {
            link.addresses.clear();
            link.addresses.add(argv.get(argv.indexOf("replace") + 1));
        } else if (argv.contains("set")) {
            link.mtu = Integer.parseInt(argv.get(argv.indexOf("mtu") + 1));
            link.up = argv.contains("up");
            return ok("");
        } else if (argv.contains("show")) {
            return ok("5: " + name + ": <POINTOPOINT,NOARP" + (link.up ? ",UP,LOWER_UP" : "") + "> mtu " + link.mtu + "\n");
        }
        return ok("");
    }

    private Result wg(List<String> argv, String stdin) {
        String name = argv.get(2);
        Link link = links.get(name);
        if (link == null) {
            throw fail(argv, "Unable to access interface: No such device");
        }
        if (argv.get(1).equals("show")) {
            StringBuilder out = new StringBuilder("PRIVATE\tPUBLIC\t" + link.listenPort + "\toff\n");
            link.peers.forEach((key, ip) -> {
                Instant hs = link.handshakes.get(key);
                out.append(key).append("\t(none)\t(none)\t").append(ip).append('\t').append(hs == null ? 0 : hs.getEpochSecond()).append("\t0\t0\toff\n");
            });
            return ok(out.toString());
        }
        for (int i = 3; i < argv.size(); ) {
            switch (argv.get(i)) {
                case "private-key" -> {
                    link.privateKey = stdin == null ? null : stdin.strip();
                    i += 2;
                }
                case "listen-port" -> {
                    link.listenPort = Integer.parseInt(argv.get(i + 1));
                    i += 2;
                }
                case "peer" -> {
                    String key = argv.get(i + 1);
                    if (argv.get(i + 2).equals("remove")) {
                        link.peers.remove(key);
                        link.handshakes.remove(key);
                        i += 3;
                    } else {
                        String ip = argv.get(i + 3);
                        link.peers.values().removeIf(ip::equals); // an allowed IP belongs to one peer only
                        link.peers.put(key, ip);
                        i += 4;
                    }
                }
                default -> throw fail(argv, "Invalid argument: " + argv.get(i));
            }
        }
        return ok("");
    }

    private static Result ok(String out) {
        return new Result(out, "");
    }

    private static CommandException fail(List<String> argv, String stderr) {
        return new CommandException(CommandException.Kind.FAILED, argv, 1, stderr, "exit code 1: " + stderr);
    }
}
