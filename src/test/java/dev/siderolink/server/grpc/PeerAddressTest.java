package dev.siderolink.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class PeerAddressTest {

    @Test
    void ipv6InBracketsCompressedAsTheReferenceLogsIt() throws Exception {
        assertThat(PeerAddress.format(new InetSocketAddress(InetAddress.getByName("fd00:0:0:0:0:0:0:1"), 4002))).isEqualTo("[fd00::1]:4002");
        assertThat(PeerAddress.format(new InetSocketAddress(InetAddress.getByName("fdae:41e4:649b:9303:b5d1:4b1c:7f6:c7d2"), 51234)))
                .isEqualTo("[fdae:41e4:649b:9303:b5d1:4b1c:7f6:c7d2]:51234");
    }

    @Test
    void zoneIsLeftOutAndIpv4IsPlain() throws Exception {
        InetAddress linkLocal = Inet6Address.getByAddress(null, InetAddress.getByName("fe80::1").getAddress(), 3);
        assertThat(PeerAddress.format(new InetSocketAddress(linkLocal, 1))).isEqualTo("[fe80::1]:1");
        assertThat(PeerAddress.format(new InetSocketAddress(InetAddress.getByName("10.5.0.2"), 8081))).isEqualTo("10.5.0.2:8081");
        assertThat(PeerAddress.format(new InetSocketAddress(InetAddress.getByName("::ffff:10.5.0.2"), 8081))).isEqualTo("10.5.0.2:8081");
    }

    @Test
    void unresolvedAndMissingAddressesAreStillPrinted() {
        assertThat(PeerAddress.format(InetSocketAddress.createUnresolved("node.example", 80))).contains("node.example");
        assertThat(PeerAddress.format(null)).isEqualTo("null");
    }
}
