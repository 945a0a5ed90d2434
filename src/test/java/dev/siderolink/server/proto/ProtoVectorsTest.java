package dev.siderolink.server.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.api.link.ProvisionRequest;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.api.link.ProvisionServiceGrpc;
import dev.siderolink.api.link.WireGuardOverGRPCServiceGrpc;
import dev.talos.api.common.Code;
import dev.talos.api.machine.Event;
import dev.talos.api.machine.MachineServiceGrpc;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.SequenceEvent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The byte-level vectors of talos-protocol.md, against our proto files. */
class ProtoVectorsTest {

    private static final HexFormat HEX = HexFormat.of();
    private static final String PLACEHOLDER_KEY = "A".repeat(43) + "=";

    /** Concatenates hex strings and ASCII texts (texts given as "\"...\""). */
    private static byte[] bytes(String... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String part : parts) {
            byte[] b = part.startsWith("\"") ? part.substring(1, part.length() - 1).getBytes(StandardCharsets.US_ASCII) : HEX.parseHex(part.replace(" ", ""));
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    @Test
    void provisionResponseMatchesTheSpecVector() {
        ProvisionResponse response = ProvisionResponse.newBuilder()
                .addServerEndpoint("[2001:db8::10]:51821")
                .setServerPublicKey(PLACEHOLDER_KEY)
                .setNodeAddressPrefix("fd1a:417e:7824:ca03:1a2b:3c4d:5e6f:7081/64")
                .setServerAddress("fd1a:417e:7824:ca03::1")
                .build();
        assertThat(response.toByteArray()).isEqualTo(bytes(
                "0a14", "\"[2001:db8::10]:51821\"",
                "1a2c", "\"" + PLACEHOLDER_KEY + "\"",
                "222a", "\"fd1a:417e:7824:ca03:1a2b:3c4d:5e6f:7081/64\"",
                "2a16", "\"fd1a:417e:7824:ca03::1\""));
    }

    @Test
    void provisionRequestKeepsThePresenceOfAnEmptyUniqueToken() throws Exception {
        byte[] wire = bytes(
                "0a24", "\"4c4c4544-0047-3510-8052-b4c04f4e4d32\"",
                "122c", "\"" + PLACEHOLDER_KEY + "\"",
                "1a03616263",
                "2200",
                "2a0776312e31312e30");
        ProvisionRequest request = ProvisionRequest.parseFrom(wire);
        assertThat(request.getNodeUuid()).isEqualTo("4c4c4544-0047-3510-8052-b4c04f4e4d32");
        assertThat(request.getNodePublicKey()).isEqualTo(PLACEHOLDER_KEY);
        assertThat(request.hasJoinToken()).isTrue();
        assertThat(request.getJoinToken()).isEqualTo("abc");
        assertThat(request.hasNodeUniqueToken()).isTrue();
        assertThat(request.getNodeUniqueToken()).isEmpty();
        assertThat(request.getTalosVersion()).isEqualTo("v1.11.0");
        assertThat(request.hasWireguardOverGrpc()).isFalse();
        assertThat(request.toByteArray()).isEqualTo(wire);
    }

    @Test
    void eventRequestVectorDecodesToABootStartSequenceEvent() throws Exception {
        byte[] wire = HEX.parseHex("0a350a29747970652e676f6f676c65617069732e636f6d2f6d616368696e652e53657175656e63654576656e7412080a04626f6f7410011214646134323338326133636d303030383031617530");
        EventRequest request = EventRequest.parseFrom(wire);
        assertThat(request.getId()).isEqualTo("da42382a3cm000801au0");
        assertThat(request.getActorId()).isEmpty();
        assertThat(request.getData().getTypeUrl()).isEqualTo("type.googleapis.com/machine.SequenceEvent");
        SequenceEvent event = request.getData().unpack(SequenceEvent.class);
        assertThat(event.getSequence()).isEqualTo("boot");
        assertThat(event.getAction()).isEqualTo(SequenceEvent.Action.START);
        assertThat(event.hasError()).isFalse();

        EventRequest rebuilt = EventRequest.newBuilder()
                .setData(Any.pack(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build()))
                .setId("da42382a3cm000801au0")
                .build();
        assertThat(rebuilt.toByteArray()).isEqualTo(wire);
    }

    @Test
    void machineEventVectorUsesTheTalosRuntimeTypeUrl() throws Exception {
        byte[] wire = bytes("122f", "0a23", "\"talos/runtime/machine.SequenceEvent\"", "1208", "0a04626f6f741001",
                "1a14", "\"da42382a3cm000801au0\"");
        Event event = Event.newBuilder()
                .setData(Any.newBuilder()
                        .setTypeUrl("talos/runtime/machine.SequenceEvent")
                        .setValue(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build().toByteString()))
                .setId("da42382a3cm000801au0")
                .build();
        assertThat(event.toByteArray()).isEqualTo(wire);
        // Any.unpack compares only the part after the last '/'
        assertThat(Event.parseFrom(wire).getData().unpack(SequenceEvent.class).getSequence()).isEqualTo("boot");
    }

    @Test
    void helloEventIsAnEmptyButPresentPayload() {
        String xid = "da42382a3cm000801au0";
        Event hello = Event.newBuilder().setData(Any.getDefaultInstance()).setId(xid).build();
        assertThat(hello.toByteArray()).isEqualTo(bytes("1200", "1a14", "\"" + xid + "\""));
    }

    @Test
    void zeroValuedEnumsAreOmittedSoPresenceIsWhatCounts() throws Exception {
        assertThat(PhaseEvent.newBuilder().setPhase("install").setAction(PhaseEvent.Action.START).build().toByteArray())
                .isEqualTo(bytes("0a07", "\"install\""));
        SequenceEvent fatal = SequenceEvent.parseFrom(bytes("0a07", "\"install\"", "1a0a", "1208", "\"sequence\""));
        assertThat(fatal.getAction()).isEqualTo(SequenceEvent.Action.NOOP);
        assertThat(fatal.hasError()).isTrue();
        assertThat(fatal.getError().getCode()).isEqualTo(Code.FATAL);
        assertThat(fatal.getError().getMessage()).isEqualTo("sequence");
    }

    @Test
    void serviceAndMethodNamesAreTheOnesTalosCalls() {
        assertThat(ProvisionServiceGrpc.getProvisionMethod().getFullMethodName()).isEqualTo("sidero.link.ProvisionService/Provision");
        assertThat(EventSinkServiceGrpc.getPublishMethod().getFullMethodName()).isEqualTo("events.EventSinkService/Publish");
        assertThat(MachineServiceGrpc.getEventsMethod().getFullMethodName()).isEqualTo("machine.MachineService/Events");
        assertThat(WireGuardOverGRPCServiceGrpc.getCreateStreamMethod().getFullMethodName()).isEqualTo("sidero.link.WireGuardOverGRPCService/CreateStream");
        assertThat(dev.siderolink.api.link.PeerPacket.newBuilder().setData(ByteString.copyFromUtf8("x")).build().toByteArray())
                .isEqualTo(bytes("1201", "\"x\""));
    }
}
