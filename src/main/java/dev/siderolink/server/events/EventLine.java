package dev.siderolink.server.events;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.siderolink.server.inventory.Annotation;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.ConfigLoadErrorEvent;
import dev.talos.api.machine.ConfigValidationErrorEvent;
import dev.talos.api.machine.MachineStatusEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.RestartEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.ServiceStateEvent;
import dev.talos.api.machine.TaskEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Map;

/**
 * One event as a line of the serverevents stream, in the reference's shape:
 * {@code level, ts, msg, component, node, id, type}, the annotation fields that resolve, then the
 * payload's own fields. Fields beyond the reference's (kept out of its keys): {@code actor_id},
 * MachineStatusEvent's {@code stage}/{@code ready}/{@code unmet_conditions}, RestartEvent's
 * {@code cmd}, ServiceStateEvent's {@code health}.
 */
final class EventLine {

    private static final JsonFactory JSON = new JsonFactory();

    private EventLine() {}

    /** The line for an event, {@code \n} included. {@code note} replaces msg for events we could not use (unknown, undecodable). */
    static byte[] format(TalosEvent event, Instant received, String node, Annotation annotation) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("level", level(event));
            json.writeFieldName("ts");
            json.writeNumber(received.getEpochSecond() + "." + String.format("%06d", received.getNano() / 1000));
            json.writeStringField("msg", message(event));
            json.writeStringField("component", "sink");
            json.writeStringField("node", node);
            json.writeStringField("id", event.id());
            json.writeStringField("type", event.typeUrl());
            if (!event.actorId().isEmpty()) {
                json.writeStringField("actor_id", event.actorId());
            }
            for (Map.Entry<String, String> field : annotation.fields()) {
                json.writeStringField(field.getKey(), field.getValue());
            }
            if (event.problem() != null) {
                json.writeStringField("decode_error", event.problem());
            }
            if (event.decoded()) {
                payloadFields(event, json);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        out.write('\n');
        return out.toByteArray();
    }

    static String level(TalosEvent event) {
        if (!event.decoded()) {
            return "warn";
        }
        if (event.payload() instanceof SequenceEvent s && s.hasError()) {
            return "error";
        }
        return "info";
    }

    static String message(TalosEvent event) {
        if (event.kind() == null) {
            return "unknown event type ignored";
        }
        if (!event.decoded()) {
            return "undecodable event ignored";
        }
        if (event.payload() instanceof ServiceStateEvent s) {
            return "service " + s.getMessage();
        }
        return "incoming event";
    }

    private static void payloadFields(TalosEvent event, JsonGenerator json) throws IOException {
        Object p = event.payload();
        if (p instanceof AddressEvent e) {
            json.writeStringField("hostname", e.getHostname());
            json.writeArrayFieldStart("addresses");
            for (String address : e.getAddressesList()) {
                json.writeString(address);
            }
            json.writeEndArray();
        } else if (p instanceof ConfigLoadErrorEvent e) {
            json.writeStringField("error", e.getError());
        } else if (p instanceof ConfigValidationErrorEvent e) {
            json.writeStringField("error", e.getError());
        } else if (p instanceof PhaseEvent e) {
            json.writeStringField("phase", e.getPhase());
            json.writeStringField("action", e.getAction().name());
        } else if (p instanceof TaskEvent e) {
            json.writeStringField("task", e.getTask());
            json.writeStringField("action", e.getAction().name());
        } else if (p instanceof ServiceStateEvent e) {
            json.writeStringField("service", e.getService());
            json.writeStringField("action", e.getAction().name());
            if (e.hasHealth()) {
                json.writeObjectFieldStart("health");
                json.writeBooleanField("unknown", e.getHealth().getUnknown());
                json.writeBooleanField("healthy", e.getHealth().getHealthy());
                if (!e.getHealth().getLastMessage().isEmpty()) {
                    json.writeStringField("last_message", e.getHealth().getLastMessage());
                }
                json.writeEndObject();
            }
        } else if (p instanceof SequenceEvent e) {
            json.writeStringField("sequence", e.getSequence());
            json.writeStringField("action", e.getAction().name());
            if (e.hasError()) {
                json.writeStringField("error", e.getError().getMessage());
                json.writeStringField("error_code", e.getError().getCode().name());
            }
        } else if (p instanceof MachineStatusEvent e) {
            json.writeStringField("stage", e.getStage().name());
            json.writeBooleanField("ready", e.getStatus().getReady());
            if (e.getStatus().getUnmetConditionsCount() > 0) {
                json.writeArrayFieldStart("unmet_conditions");
                for (var c : e.getStatus().getUnmetConditionsList()) {
                    json.writeStartObject();
                    json.writeStringField("name", c.getName());
                    json.writeStringField("reason", c.getReason());
                    json.writeEndObject();
                }
                json.writeEndArray();
            }
        } else if (p instanceof RestartEvent e) {
            json.writeNumberField("cmd", e.getCmd());
        }
    }
}
