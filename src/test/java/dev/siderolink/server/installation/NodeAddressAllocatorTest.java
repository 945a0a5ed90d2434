package dev.siderolink.server.installation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import inet.ipaddr.ipv6.IPv6Address;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NodeAddressAllocatorTest {

    private final SiderolinkNetwork network = SiderolinkNetwork.fromInstallationId("test-installation");

    /** A "random" source that yields the given 8-byte interface ids in order. */
    private static SecureRandom scripted(byte[]... iids) {
        Deque<byte[]> queue = new ArrayDeque<>(java.util.List.of(iids));
        return new SecureRandom() {
            @Override
            public void nextBytes(byte[] bytes) {
                byte[] next = queue.isEmpty() ? new byte[8] : queue.poll();
                System.arraycopy(next, 0, bytes, 0, bytes.length);
            }
        };
    }

    private static byte[] iid(int last) {
        return new byte[] {0, 0, 0, 0, 0, 0, 0, (byte) last};
    }

    @Test
    void skipsAddressesAlreadyAssignedInTheInstallation() {
        NodeAddressAllocator allocator = new NodeAddressAllocator(network, scripted(iid(7), iid(8)));
        IPv6Address taken = network.nodeAddress(iid(7));
        IPv6Address got = allocator.reserve(taken::equals);
        assertThat(got.toCompressedString()).isEqualTo(network.nodeAddress(iid(8)).toCompressedString());
    }

    @Test
    void neverHandsOutTheSubnetAnycastOrTheServerAddress() {
        NodeAddressAllocator allocator = new NodeAddressAllocator(network, scripted(iid(0), iid(1), iid(2)));
        IPv6Address got = allocator.reserve(a -> false);
        assertThat(got.toCompressedString()).isEqualTo(network.nodeAddress(iid(2)).toCompressedString());
        assertThat(got.toCompressedString()).isNotEqualTo(network.serverAddress().toCompressedString());
    }

    @Test
    void concurrentReservationsNeverCollideUntilReleased() {
        NodeAddressAllocator allocator = new NodeAddressAllocator(network, scripted(iid(9), iid(9), iid(10), iid(9)));
        IPv6Address first = allocator.reserve(a -> false);
        IPv6Address second = allocator.reserve(a -> false);
        assertThat(first.toCompressedString()).isEqualTo(network.nodeAddress(iid(9)).toCompressedString());
        assertThat(second.toCompressedString()).isEqualTo(network.nodeAddress(iid(10)).toCompressedString());
        allocator.release(first);
        assertThat(allocator.reserve(a -> false).toCompressedString()).isEqualTo(first.toCompressedString());
    }

    @Test
    void failsLoudlyWhenTheRandomSourceIsBroken() {
        NodeAddressAllocator allocator = new NodeAddressAllocator(network, scripted());
        assertThatThrownBy(() -> allocator.reserve(a -> false)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void realAddressesAreInThePrefixAndDistinct() {
        NodeAddressAllocator allocator = new NodeAddressAllocator(network, new SecureRandom());
        Set<IPv6Address> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            IPv6Address a = allocator.reserve(seen::contains);
            assertThat(network.contains(a)).isTrue();
            assertThat(seen.add(a)).isTrue();
        }
    }
}
