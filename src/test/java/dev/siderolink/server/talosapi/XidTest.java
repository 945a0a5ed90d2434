package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class XidTest {

    @Test
    void readsTheCreationSecondOfTheSpecsVector() {
        // spec §2: da42382a3cm000801au0 was created at 2026-08-21T10:00:00Z
        assertThat(Xid.epochSecond("da42382a3cm000801au0")).isEqualTo(Instant.parse("2026-08-21T10:00:00Z").getEpochSecond());
    }

    @Test
    void newIdsRoundTripAndSortByTimeAsText() {
        Xid xids = new Xid(new SecureRandom());
        Instant t = Instant.parse("2026-08-21T10:00:00Z");
        String first = xids.next(t);
        String later = xids.next(t.plusSeconds(1));
        assertThat(first).hasSize(20).matches("[0-9a-v]{20}");
        assertThat(Xid.encode(Xid.decode(first))).isEqualTo(first);
        assertThat(Xid.epochSecond(first)).isEqualTo(t.getEpochSecond());
        assertThat(later).isGreaterThan(first);
        assertThat(xids.next(t)).as("same second, next counter").isNotEqualTo(first);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "da42382a3cm000801au", "da42382a3cm000801au00", "da42382a3cm000801auw", "DA42382A3CM000801AU0", "da42382a3cm000801au1"})
    void refusesTextsThatAreNoXid(String text) {
        assertThatThrownBy(() -> Xid.decode(text)).isInstanceOf(IllegalArgumentException.class);
    }
}
