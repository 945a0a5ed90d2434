package dev.siderolink.server.wireguard;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * {@code wg show <if> dump}, typed. The interface line's private key is deliberately not kept.
 *
 * @param publicKey the interface's public key
 * @param listenPort its UDP port
 * @param peers one entry per peer
 */
public record WgDump(String publicKey, int listenPort, List<Peer> peers) {

    /**
     * One peer line.
     *
     * @param publicKey base64
     * @param endpoint {@code host:port} the peer was last seen from, or null ("(none)")
     * @param allowedIps CIDRs, empty for "(none)"
     * @param latestHandshake null when there never was one (0 in the dump)
     * @param rxBytes bytes received from the peer
     * @param txBytes bytes sent to it
     * @param persistentKeepalive seconds, 0 when off
     */
    public record Peer(String publicKey, String endpoint, List<String> allowedIps, Instant latestHandshake,
            long rxBytes, long txBytes, int persistentKeepalive) {}

    public Map<String, Peer> peersByKey() {
        return peers.stream().collect(Collectors.toMap(Peer::publicKey, Function.identity(), (a, b) -> b));
    }
}
