package dev.siderolink.server.installation;

import inet.ipaddr.ipv6.IPv6Address;
import java.security.SecureRandom;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Picks node addresses: the installation prefix plus 8 random bytes, never an address already
 * assigned in the installation, never the subnet-router anycast ({@code ::}) or the server
 * ({@code ::1}). Addresses handed out but not yet stored are held in a reservation set so two
 * concurrent provisions cannot pick the same one.
 */
public final class NodeAddressAllocator {

    private static final int MAX_ATTEMPTS = 64;

    private final SiderolinkNetwork network;
    private final SecureRandom random;
    private final Set<IPv6Address> reserved = ConcurrentHashMap.newKeySet();

    public NodeAddressAllocator(SiderolinkNetwork network, SecureRandom random) {
        this.network = network;
        this.random = random;
    }

    /**
     * Reserves a fresh address. {@code assigned} answers whether an address is already in use by
     * some binding. Call {@link #release} once the address is stored (or abandoned).
     */
    public IPv6Address reserve(Predicate<IPv6Address> assigned) {
        byte[] iid = new byte[8];
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            random.nextBytes(iid);
            IPv6Address candidate = network.nodeAddress(iid);
            if (isReservedForInfrastructure(iid) || assigned.test(candidate) || !reserved.add(candidate)) {
                continue;
            }
            return candidate;
        }
        // 64 collisions in a 2^64 space means the random source or the predicate is broken.
        throw new IllegalStateException("no free node address after " + MAX_ATTEMPTS + " attempts");
    }

    public void release(IPv6Address address) {
        if (address != null) {
            reserved.remove(address);
        }
    }

    private static boolean isReservedForInfrastructure(byte[] iid) {
        for (int i = 0; i < 7; i++) {
            if (iid[i] != 0) {
                return false;
            }
        }
        return iid[7] == 0 || iid[7] == 1;
    }
}
