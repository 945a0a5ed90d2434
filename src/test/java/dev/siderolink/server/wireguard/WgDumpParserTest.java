package dev.siderolink.server.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class WgDumpParserTest {

    static final String PRIVATE = "0M9lxAwrpWHCs8MnmZGtC/Vc+FRPS9S40wnHSM0CwG8=";
    static final String PUBLIC = "ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=";
    static final String PEER_A = "XIBT49g9xCoBvyb/x36J+ASlQ4qaxXMG20ZgKbBbfE8=";
    static final String PEER_B = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    @Test
    void parsesInterfaceAndPeers() {
        String dump = PRIVATE + "\t" + PUBLIC + "\t51821\toff\n"
                + PEER_A + "\t(none)\t[2001:db8::5]:40001\tfdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09/128\t1700000000\t1234\t5678\t25\n"
                + PEER_B + "\t(none)\t(none)\t(none)\t0\t0\t0\toff\n";
        WgDump parsed = WgDumpParser.parse(dump);
        assertThat(parsed.publicKey()).isEqualTo(PUBLIC);
        assertThat(parsed.listenPort()).isEqualTo(51821);
        assertThat(parsed.peers()).containsExactly(
                new WgDump.Peer(PEER_A, "[2001:db8::5]:40001", List.of("fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09/128"), Instant.ofEpochSecond(1700000000), 1234, 5678, 25),
                new WgDump.Peer(PEER_B, null, List.of(), null, 0, 0, 0));
        assertThat(parsed.toString()).doesNotContain(PRIVATE);
    }

    @Test
    void anInterfaceWithoutPeersHasNone() {
        assertThat(WgDumpParser.parse(PRIVATE + "\t" + PUBLIC + "\t51821\toff\n").peers()).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "garbage",
        PRIVATE + "\t" + PUBLIC + "\tport\toff\n",
        PRIVATE + "\t" + PUBLIC + "\t51821\toff\n" + PEER_A + "\t(none)\n",
        PRIVATE + "\t" + PUBLIC + "\t51821\toff\n" + PEER_A + "\t(none)\t(none)\t(none)\tsoon\t0\t0\toff\n",
        PRIVATE + "\t" + PUBLIC + "\t51821\toff\n" + "short\t(none)\t(none)\t(none)\t0\t0\t0\toff\n",
        PRIVATE + "\t" + PUBLIC + "\t51821\toff\n" + PEER_A + "\t(none)\t(none)\t(none)\t0\t-5\t0\toff\n",
    })
    void refusesOutputThatIsNotADumpWithoutEchoingThePrivateKey(String output) {
        assertThatThrownBy(() -> WgDumpParser.parse(output))
                .isInstanceOf(WgDumpParser.MalformedDumpException.class)
                .hasMessageStartingWith("unexpected `wg show dump` output")
                .hasMessageNotContaining(PRIVATE);
    }
}
