package dev.siderolink.server.history;

import java.time.Instant;

/**
 * One Talos event as a node published it, kept for replay to {@code talosctl events} and the HTTP
 * API: the payload is stored as received (the {@code google.protobuf.Any} value bytes and type
 * URL), so it can be served again byte for byte.
 *
 * @param serverUuid the ServerBinding the sender's tunnel address resolved to
 * @param node the sender's tunnel address, compressed IPv6 text without brackets or port
 * @param id the event id as the node sent it (an xid)
 * @param actorId the actor id as the node sent it (may be empty)
 * @param typeUrl the payload's type URL as the node sent it (e.g. {@code talos/runtime/machine.SequenceEvent})
 * @param payload the payload's serialized bytes
 * @param received when the server received it
 */
public record RecordedEvent(String serverUuid, String node, String id, String actorId, String typeUrl, byte[] payload, Instant received) {

    /** Bytes this entry counts against the history's memory budget (payload, strings, overhead). */
    public long weight() {
        return 96L + payload.length + 2L * (serverUuid.length() + node.length() + id.length() + actorId.length() + typeUrl.length());
    }
}
