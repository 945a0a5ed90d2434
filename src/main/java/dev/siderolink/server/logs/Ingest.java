package dev.siderolink.server.logs;

import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.output.LineWriter;

/**
 * What both receivers hand their messages to: the size limit, who may send (the prefix), who the
 * sender is (the directory), where lines go and what is counted.
 */
record Ingest(int maxMessage, SiderolinkNetwork network, BindingDirectory directory, LineWriter writer, LogMetrics metrics) {}
