package dev.siderolink.server.history;

/**
 * One stored entry: the line exactly as its stream prints it ({@code \n} included), and for events
 * the event as received.
 *
 * @param serverUuid the server it belongs to
 * @param seq order of recording, over all servers and kinds
 * @param line the annotated log line or the event line, {@code \n} included
 * @param event the event as received (events only, else null)
 */
public record Entry(String serverUuid, long seq, byte[] line, RecordedEvent event) {

    /** Bytes this entry counts against {@code siderolink.history.max-bytes}: its data and an estimate of the objects around it. */
    long weight() {
        return 64L + line.length + (event == null ? 0 : event.weight());
    }
}
