package dev.siderolink.server.events;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import dev.siderolink.api.events.EventRequest;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.ConfigLoadErrorEvent;
import dev.talos.api.machine.ConfigValidationErrorEvent;
import dev.talos.api.machine.MachineStatusEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.RestartEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.ServiceStateEvent;
import dev.talos.api.machine.TaskEvent;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One published event, decoded.
 *
 * @param id the node's event id (an xid; increases within a boot)
 * @param actorId the API call that caused it, or empty
 * @param typeUrl {@code data.type_url} as sent
 * @param kind the payload type, or null when the type URL names no type we know
 * @param payload the decoded payload, or null (unknown type, or {@code problem} says why)
 * @param problem why a known type could not be decoded, or null
 */
public record TalosEvent(String id, String actorId, String typeUrl, Kind kind, Message payload, String problem) {

    /** The payload types Talos publishes (talos-protocol.md §3), by proto full name. */
    public enum Kind {
        SEQUENCE("machine.SequenceEvent", SequenceEvent::parseFrom),
        PHASE("machine.PhaseEvent", PhaseEvent::parseFrom),
        TASK("machine.TaskEvent", TaskEvent::parseFrom),
        SERVICE_STATE("machine.ServiceStateEvent", ServiceStateEvent::parseFrom),
        CONFIG_LOAD_ERROR("machine.ConfigLoadErrorEvent", ConfigLoadErrorEvent::parseFrom),
        CONFIG_VALIDATION_ERROR("machine.ConfigValidationErrorEvent", ConfigValidationErrorEvent::parseFrom),
        ADDRESS("machine.AddressEvent", AddressEvent::parseFrom),
        MACHINE_STATUS("machine.MachineStatusEvent", MachineStatusEvent::parseFrom),
        RESTART("machine.RestartEvent", RestartEvent::parseFrom);

        final String fullName;
        private final Parser parser;

        Kind(String fullName, Parser parser) {
            this.fullName = fullName;
            this.parser = parser;
        }

        /** The metric tag: the proto name without its package. */
        public String tag() {
            return fullName.substring(fullName.indexOf('.') + 1);
        }

        private static final Map<String, Kind> BY_NAME = Stream.of(values()).collect(Collectors.toMap(k -> k.fullName, Function.identity()));
    }

    @FunctionalInterface
    private interface Parser {
        Message parse(com.google.protobuf.ByteString bytes) throws InvalidProtocolBufferException;
    }

    public boolean decoded() {
        return payload != null;
    }

    /**
     * Decodes a request. The type is the part of the type URL after its last {@code /} (the sink
     * gets {@code type.googleapis.com/machine.X}, apid streams {@code talos/runtime/machine.X}).
     */
    public static TalosEvent decode(EventRequest request) {
        Any data = request.getData();
        String typeUrl = data.getTypeUrl();
        Kind kind = Kind.BY_NAME.get(typeUrl.substring(typeUrl.lastIndexOf('/') + 1));
        if (kind == null) {
            return new TalosEvent(request.getId(), request.getActorId(), typeUrl, null, null, null);
        }
        try {
            return new TalosEvent(request.getId(), request.getActorId(), typeUrl, kind, kind.parser.parse(data.getValue()), null);
        } catch (InvalidProtocolBufferException e) {
            return new TalosEvent(request.getId(), request.getActorId(), typeUrl, kind, null, e.getMessage());
        }
    }
}
