package dev.siderolink.server.wireguard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.wireguard.PeerPlan.Change;
import dev.siderolink.server.wireguard.PeerPlan.Remove;
import dev.siderolink.server.wireguard.PeerPlan.Set;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PeerPlanTest {

    static final String A = "A".repeat(43) + "=";
    static final String B = "B".repeat(43) + "=";
    static final String C = "C".repeat(43) + "=";
    static final String IP1 = "fd00::1/128";
    static final String IP2 = "fd00::2/128";

    static WgDump dump(WgDump.Peer... peers) {
        return new WgDump("PUB", 51821, List.of(peers));
    }

    static WgDump.Peer peer(String key, String... allowed) {
        return new WgDump.Peer(key, null, Arrays.asList(allowed), null, 0, 0, 0);
    }

    static Map<String, String> want(String... keyIpPairs) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keyIpPairs.length; i += 2) {
            map.put(keyIpPairs[i], keyIpPairs[i + 1]);
        }
        return map;
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("nothing to do", want(A, IP1), dump(peer(A, IP1)), List.of()),
                Arguments.of("add to empty", want(A, IP1, B, IP2), dump(), List.of(new Set(A, IP1), new Set(B, IP2))),
                Arguments.of("remove unknown peer", want(), dump(peer(A, IP1)), List.of(new Remove(A))),
                Arguments.of("allowed ips replaced not merged", want(A, IP1), dump(peer(A, IP1, IP2)), List.of(new Set(A, IP1))),
                Arguments.of("allowed ips changed", want(A, IP2), dump(peer(A, IP1)), List.of(new Set(A, IP2))),
                Arguments.of("peer with no allowed ips gets them", want(A, IP1), dump(peer(A)), List.of(new Set(A, IP1))),
                Arguments.of("key swap removes old before adding new", want(B, IP1), dump(peer(A, IP1)), List.of(new Remove(A), new Set(B, IP1))),
                Arguments.of("deterministic order", want(C, IP1, A, IP2), dump(), List.of(new Set(A, IP2), new Set(C, IP1))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void plans(String name, Map<String, String> desired, WgDump current, List<Change> expected) {
        assertThat(PeerPlan.plan(desired, current)).containsExactlyElementsOf(expected);
    }

    @Test
    void argumentsAreOneWgSetCommandLine() {
        assertThat(PeerPlan.arguments(List.of(new Remove(A), new Set(B, IP1))))
                .containsExactly("peer", A, "remove", "peer", B, "allowed-ips", IP1);
    }
}
