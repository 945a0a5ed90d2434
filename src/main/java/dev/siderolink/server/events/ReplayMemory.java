package dev.siderolink.server.events;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The last event ids applied per server, to recognise the events Talos sends again (it replays
 * from the first event not acknowledged, so a lost answer brings back one we applied). A ring of
 * 64-bit id hashes per server: bounded memory (8 bytes × size per server), forgotten with the
 * server's binding.
 */
final class ReplayMemory {

    private final int size;
    private final Map<String, Ring> rings = new ConcurrentHashMap<>();

    ReplayMemory(int size) {
        this.size = size;
    }

    private static final class Ring {
        final long[] hashes;
        int next;
        int filled;

        Ring(int size) {
            hashes = new long[size];
        }
    }

    /** True when {@code id} was {@link #remember remembered} for this server (and is still in its ring). */
    boolean seen(String server, String id) {
        if (id.isEmpty()) {
            return false; // no id, nothing to recognise
        }
        Ring ring = rings.get(server);
        if (ring == null) {
            return false;
        }
        long hash = hash(id);
        synchronized (ring) {
            for (int i = 0; i < ring.filled; i++) {
                if (ring.hashes[i] == hash) {
                    return true;
                }
            }
        }
        return false;
    }

    void remember(String server, String id) {
        if (id.isEmpty()) {
            return;
        }
        Ring ring = rings.computeIfAbsent(server, s -> new Ring(size));
        synchronized (ring) {
            ring.hashes[ring.next] = hash(id);
            ring.next = (ring.next + 1) % ring.hashes.length;
            ring.filled = Math.min(ring.filled + 1, ring.hashes.length);
        }
    }

    void forget(String server) {
        rings.remove(server);
    }

    int servers() {
        return rings.size();
    }

    /** FNV-1a, 64 bit: ids are short ASCII strings; a collision would skip one event in 2^64. */
    static long hash(String id) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }
}
