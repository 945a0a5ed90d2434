package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.startup.StartupProblem;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdvertisedEndpointsTest {

    private static WireguardProperties wireguard(String... endpoints) {
        return new WireguardProperties("siderolink", List.of(endpoints), 51821, WireguardProperties.Userspace.AUTO, java.time.Duration.ofSeconds(5), false);
    }

    /** What Talos >= 1.6 does with the list it receives: swap first and last, then try in order. */
    private static List<String> talosTryOrder(List<String> wire) {
        List<String> order = new ArrayList<>(wire);
        Collections.swap(order, 0, order.size() - 1);
        return order;
    }

    @Test
    void currentTalosTriesTheEndpointsInPreferenceOrder() {
        for (int n = 1; n <= 5; n++) {
            List<String> preferred = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                preferred.add("10.0.0." + (i + 1) + ":51821");
            }
            assertThat(talosTryOrder(AdvertisedEndpoints.onWire(preferred))).as("%d endpoints", n).isEqualTo(preferred);
        }
    }

    @Test
    void oldTalosKeepsTheLastValueOnTheWireWhichIsTheMostPreferred() {
        List<String> wire = AdvertisedEndpoints.onWire(List.of("a:1", "b:1", "c:1"));
        assertThat(wire).containsExactly("c:1", "b:1", "a:1"); // siderolink MakeEndpoints(a, b, c)
        assertThat(wire.get(wire.size() - 1)).isEqualTo("a:1");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "203.0.113.10|203.0.113.10:51821",
        "203.0.113.10:4000|203.0.113.10:4000",
        "sidero.example.com|sidero.example.com:51821",
        "sidero.example.com:6000|sidero.example.com:6000",
        "2001:db8::10|[2001:db8::10]:51821",
        "[2001:db8::10]:7000|[2001:db8::10]:7000",
        "2001:DB8:0:0:0:0:0:10|[2001:db8::10]:51821",
    })
    void formatsEveryEndpointAsHostPort(String configured, String expected) {
        assertThat(AdvertisedEndpoints.preferred(wireguard(configured), StoreKind.KUBERNETES)).containsExactly(expected);
    }

    @Test
    void kubernetesStoreRequiresAnEndpointAndSaysWhichPropertyToSet() {
        assertThatThrownBy(() -> AdvertisedEndpoints.preferred(wireguard(), StoreKind.KUBERNETES))
                .isInstanceOf(StartupProblem.class)
                .hasMessageContaining("siderolink.wireguard.endpoint")
                .satisfies(e -> assertThat(((StartupProblem) e).action()).contains("SIDEROLINK_WIREGUARD_ENDPOINT"));
    }

    @Test
    void standaloneDefaultsToAnAddressOfThisMachine() {
        List<String> endpoints = AdvertisedEndpoints.preferred(wireguard(), StoreKind.STANDALONE);
        assertThat(endpoints).hasSize(1);
        assertThat(endpoints.get(0)).endsWith(":51821").doesNotStartWith("127.").doesNotStartWith("[::1]");
    }

    @Test
    void refusesAnEndpointThatIsNotAHost() {
        assertThatThrownBy(() -> AdvertisedEndpoints.preferred(wireguard("not a host!"), StoreKind.KUBERNETES))
                .isInstanceOf(StartupProblem.class)
                .hasMessageContaining("not a host!");
    }
}
