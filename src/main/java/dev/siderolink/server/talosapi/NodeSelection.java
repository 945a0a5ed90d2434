package dev.siderolink.server.talosapi;

import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which servers a call asks for, from the gRPC metadata talosctl sends ({@code -n}): {@code node}
 * (exactly one value, the stream passes through unchanged) or the deprecated {@code nodes} (each
 * event then names its node in {@code metadata.hostname}, as apid does). A value is a server's
 * tunnel address, its UUID, or the hostname it last reported; no metadata selects every server.
 *
 * @param servers server UUID → the value that selected it; null means every server
 * @param tagHostname whether events carry {@code metadata.hostname} ({@code nodes} mode)
 */
record NodeSelection(Map<String, String> servers, boolean tagHostname) {

    static final Metadata.Key<String> NODE = Metadata.Key.of("node", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> NODES = Metadata.Key.of("nodes", Metadata.ASCII_STRING_MARSHALLER);

    static final NodeSelection ALL = new NodeSelection(null, false);

    boolean includes(String serverUuid) {
        return servers == null || servers.containsKey(serverUuid);
    }

    /** Resolves the metadata against the store's bindings; a StatusRuntimeException when it cannot. */
    static NodeSelection resolve(Metadata headers, ResourceStore store) {
        List<String> node = values(headers, NODE);
        List<String> nodes = values(headers, NODES);
        if (!node.isEmpty()) {
            if (node.size() > 1) {
                throw Status.INVALID_ARGUMENT.withDescription("metadata \"node\" must have exactly one value, got " + node.size()).asRuntimeException();
            }
            return new NodeSelection(Map.of(find(node.get(0), store), node.get(0)), false);
        }
        if (!nodes.isEmpty()) {
            Map<String, String> servers = new LinkedHashMap<>();
            for (String value : nodes) {
                servers.putIfAbsent(find(value, store), value);
            }
            return new NodeSelection(servers, true);
        }
        return ALL;
    }

    private static List<String> values(Metadata headers, Metadata.Key<String> key) {
        Iterable<String> all = headers.getAll(key);
        if (all == null) {
            return List.of();
        }
        List<String> result = new java.util.ArrayList<>();
        // a client may also send one comma-separated value (gRPC folds repeated headers that way)
        all.forEach(v -> {
            for (String part : v.split(",")) {
                if (!part.isBlank()) {
                    result.add(part.trim());
                }
            }
        });
        return result;
    }

    /** The server a value names: tunnel address, then UUID, then reported hostname. */
    static String find(String value, ResourceStore store) {
        Optional<IPAddress> address = parseAddress(value);
        for (ServerBinding binding : store.bindings()) {
            if (address.isPresent() && binding.siderolink().address() != null) {
                Optional<IPAddress> tunnel = parseAddress(binding.siderolink().address());
                if (tunnel.isPresent() && tunnel.get().equals(address.get())) {
                    return binding.uuid();
                }
            }
        }
        Optional<ServerBinding> byUuid = store.bindings().stream().filter(b -> b.uuid().equalsIgnoreCase(value)).findFirst();
        if (byUuid.isPresent()) {
            return byUuid.get().uuid();
        }
        List<ServerBinding> byHostname = store.bindings().stream().filter(b -> value.equalsIgnoreCase(b.hostname())).toList();
        if (byHostname.size() == 1) {
            return byHostname.get(0).uuid();
        }
        if (byHostname.size() > 1) {
            throw Status.FAILED_PRECONDITION.withDescription("hostname " + value + " is reported by " + byHostname.size()
                    + " servers; use the tunnel address or the server UUID").asRuntimeException();
        }
        throw Status.NOT_FOUND.withDescription("no server with tunnel address, UUID or hostname " + value).asRuntimeException();
    }

    private static Optional<IPAddress> parseAddress(String text) {
        String bare = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
        IPAddress address = new IPAddressString(bare).getAddress();
        return address == null ? Optional.empty() : Optional.of(address.withoutPrefixLength());
    }
}
