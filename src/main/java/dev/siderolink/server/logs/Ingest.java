package dev.siderolink.server.logs;

import dev.siderolink.server.history.LogHistory;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.output.LineWriter;

/**
 * What both receivers hand their messages to: the size limit, who may send (the prefix), who the
 * sender is (the directory), where lines go, what is counted, and where each server's annotated
 * lines are kept (the history, fed before the hand-off to the writer).
 */
record Ingest(int maxMessage, SiderolinkNetwork network, BindingDirectory directory, LineWriter writer, LogMetrics metrics, LogHistory history) {

    Ingest(int maxMessage, SiderolinkNetwork network, BindingDirectory directory, LineWriter writer, LogMetrics metrics) {
        this(maxMessage, network, directory, writer, metrics, LogHistory.NONE);
    }
}
