package dev.siderolink.server.talosapi;

import inet.ipaddr.HostName;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a talosconfig for this installation holds besides the client certificate: the CA, the
 * names the server certificate is valid for, and the endpoints ({@code host} when the port is
 * talosctl's default 50000, else {@code host:port}).
 */
public record TalosApiIdentity(TalosPki.Issued ca, List<String> names, int port, String role) {

    /** talosctl's default port. */
    public static final int DEFAULT_PORT = 50000;

    /**
     * Hosts from the WireGuard endpoints ({@code host[:port]}, ports dropped) followed by the extra
     * names, without repeats.
     */
    public static List<String> names(List<String> wireguardEndpoints, List<String> extraNames) {
        Set<String> names = new LinkedHashSet<>();
        for (String endpoint : wireguardEndpoints) {
            HostName host = new HostName(endpoint.trim());
            names.add(host.isAddress() ? host.asAddress().withoutPrefixLength().toCanonicalString() : host.getHost());
        }
        for (String name : extraNames) {
            if (!name.isBlank()) {
                names.add(name.trim());
            }
        }
        return List.copyOf(names);
    }

    /** The same with another port (the one the server really bound when configured with 0). */
    public TalosApiIdentity withPort(int boundPort) {
        return new TalosApiIdentity(ca, names, boundPort, role);
    }

    public List<String> endpoints() {
        List<String> endpoints = new ArrayList<>();
        for (String name : names) {
            if (port == DEFAULT_PORT) {
                endpoints.add(name);
            } else {
                endpoints.add((name.contains(":") ? "[" + name + "]" : name) + ":" + port);
            }
        }
        return endpoints;
    }

    /** A talosconfig with a newly signed client certificate. */
    public String talosconfig(List<String> nodes, SecureRandom random, Clock clock) {
        return Talosconfig.generate(ca, endpoints(), nodes, role, random, clock);
    }
}
