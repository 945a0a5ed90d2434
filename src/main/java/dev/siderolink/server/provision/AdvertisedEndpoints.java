package dev.siderolink.server.provision;

import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.startup.StartupProblem;
import inet.ipaddr.HostName;
import inet.ipaddr.HostNameException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The WireGuard endpoints sent to nodes as {@code server_endpoint}.
 *
 * <p>Ordering rule: Talos >= 1.6 swaps the first and last entry of the list and then tries the
 * entries in order; older Talos reads the field as a single string and keeps the last value on the
 * wire. So the wire order is the preference order with its first and last entries swapped: the
 * most preferred endpoint is last on the wire (what siderolink's {@code MakeEndpoints} does for up
 * to three entries), and every client tries it first.
 */
public final class AdvertisedEndpoints {

    private AdvertisedEndpoints() {}

    /** The endpoints in preference order, each {@code host:port} ({@code [v6]:port}). */
    public static List<String> preferred(WireguardProperties wireguard, StoreKind store) {
        List<String> configured = wireguard.endpoint().stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
        if (configured.isEmpty()) {
            if (store == StoreKind.KUBERNETES) {
                throw new StartupProblem(
                        "siderolink.wireguard.endpoint is not set, and with siderolink.store=kubernetes nodes need to be told how to reach WireGuard.",
                        "Set siderolink.wireguard.endpoint (env SIDEROLINK_WIREGUARD_ENDPOINT) to the host name or IP address nodes use to reach this server's UDP port "
                                + wireguard.port() + ".");
            }
            String host = firstNonLoopbackAddress().orElseThrow(() -> new StartupProblem(
                    "siderolink.wireguard.endpoint is not set and this machine has no non-loopback address to default to.",
                    "Set siderolink.wireguard.endpoint to the host name or IP address nodes use to reach this server."));
            configured = List.of(host);
        }
        List<String> result = new ArrayList<>();
        for (String entry : configured) {
            result.add(normalize(entry, wireguard.port()));
        }
        return List.copyOf(result);
    }

    /** Preference order → wire order (first and last swapped; the swap is its own inverse). */
    public static List<String> onWire(List<String> preferred) {
        List<String> wire = new ArrayList<>(preferred);
        if (wire.size() > 1) {
            Collections.swap(wire, 0, wire.size() - 1);
        }
        return List.copyOf(wire);
    }

    static String normalize(String entry, int defaultPort) {
        HostName host = new HostName(entry);
        try {
            host.validate();
        } catch (HostNameException e) {
            throw new StartupProblem("siderolink.wireguard.endpoint entry \"" + entry + "\" is not a host name or IP address: " + e.getMessage(),
                    "Use host, host:port, IPv4 or IPv6 address (IPv6 with a port as [addr]:port).");
        }
        int port = host.getPort() != null ? host.getPort() : defaultPort;
        if (host.isAddress()) {
            var address = host.asAddress();
            String text = address.isIPv6() ? "[" + address.withoutPrefixLength().toCompressedString() + "]" : address.toCanonicalString();
            return text + ":" + port;
        }
        return host.getHost() + ":" + port;
    }

    /** IPv4 first (what a lab network usually routes), else a global IPv6 address. */
    static Optional<String> firstNonLoopbackAddress() {
        List<InetAddress> candidates = new ArrayList<>();
        try {
            for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nic.isUp() || nic.isLoopback() || nic.isVirtual() || nic.isPointToPoint()) {
                    continue;
                }
                for (InetAddress address : Collections.list(nic.getInetAddresses())) {
                    if (!address.isLoopbackAddress() && !address.isLinkLocalAddress() && !address.isAnyLocalAddress()
                            && !address.isMulticastAddress()) {
                        candidates.add(address);
                    }
                }
            }
        } catch (SocketException e) {
            return Optional.empty();
        }
        return candidates.stream()
                .sorted((a, b) -> Boolean.compare(!(a instanceof Inet4Address), !(b instanceof Inet4Address)))
                .map(a -> new HostName(a).asAddress().withoutPrefixLength().toCompressedString())
                .findFirst();
    }
}
