package dev.siderolink.server.wireguard;

import dev.siderolink.server.inventory.ServerBinding;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Puts a pass's result into a {@link Connectivity}, for tests of what reads it (the HTTP API). */
public final class ConnectivityFixture {

    private ConnectivityFixture() {}

    /** One pass that saw {@code binding}'s peer with its last handshake at {@code handshake}, judged at {@code now}. */
    public static void seen(Connectivity connectivity, ServerBinding binding, String endpoint, Instant handshake, Instant now) {
        WgDump.Peer peer = new WgDump.Peer(binding.siderolink().publicKey(), endpoint, List.of(), handshake, 1234, 567, 25);
        connectivity.update(new WgDump("server-key", 51821, List.of(peer)), Map.of(peer.publicKey(), binding), now, null);
    }
}
