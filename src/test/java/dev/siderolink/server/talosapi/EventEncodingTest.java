package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.history.RecordedEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** An event the sink received, as the Events stream sends it: the spec's §4.1 vector, byte for byte. */
class EventEncodingTest {

    private static final byte[] SEQUENCE_BOOT_START = HexFormat.of().parseHex("0a04626f6f741001");

    @Test
    void aSinkEventBecomesTheSpecsMachineEventBytes() {
        RecordedEvent received = new RecordedEvent("uuid", "fdae::a", "da42382a3cm000801au0", "", "type.googleapis.com/machine.SequenceEvent",
                SEQUENCE_BOOT_START, Instant.EPOCH);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(HexFormat.of().parseHex("122f0a23"));
        expected.writeBytes("talos/runtime/machine.SequenceEvent".getBytes(StandardCharsets.US_ASCII));
        expected.writeBytes(HexFormat.of().parseHex("1208"));
        expected.writeBytes(SEQUENCE_BOOT_START);
        expected.writeBytes(HexFormat.of().parseHex("1a14"));
        expected.writeBytes("da42382a3cm000801au0".getBytes(StandardCharsets.US_ASCII));

        assertThat(MachineEventsService.toEvent(received, NodeSelection.ALL).toByteArray()).isEqualTo(expected.toByteArray());
    }

    @Test
    void inNodesModeTheEventNamesItsNodeInMetadataHostname() {
        RecordedEvent received = new RecordedEvent("uuid", "fdae::a", "da42382a3cm000801au0", "actor", "type.googleapis.com/machine.SequenceEvent",
                SEQUENCE_BOOT_START, Instant.EPOCH);
        var event = MachineEventsService.toEvent(received, new NodeSelection(Map.of("uuid", "talos-a"), true));
        assertThat(event.getMetadata().getHostname()).isEqualTo("talos-a");
        assertThat(event.getActorId()).isEqualTo("actor");
    }

    @ParameterizedTest
    @CsvSource({
        "type.googleapis.com/machine.PhaseEvent, talos/runtime/machine.PhaseEvent",
        "talos/runtime/machine.TaskEvent, talos/runtime/machine.TaskEvent",
        "type.googleapis.com/other.Thing, type.googleapis.com/other.Thing"})
    void typeUrlsAreApids(String received, String sent) {
        assertThat(MachineEventsService.typeUrl(received)).isEqualTo(sent);
    }
}
