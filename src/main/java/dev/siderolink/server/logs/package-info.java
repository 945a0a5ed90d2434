/**
 * The kernel-log pipeline ({@code serverlogs}): {@link dev.siderolink.server.logs.TcpLogReceiver}
 * and {@link dev.siderolink.server.logs.UdpLogReceiver} take messages off the tunnel address,
 * {@link dev.siderolink.server.logs.LineFramer} cuts TCP streams into lines,
 * {@link dev.siderolink.server.logs.LineAnnotator} checks each message is one JSON object and
 * splices in what the {@link dev.siderolink.server.inventory.BindingDirectory} knows about the
 * sender (keys in sorted order, Talos' own bytes untouched), and the lines go, a chunk at a time,
 * to the stream's {@link dev.siderolink.server.output.LineWriter}. Every message that is not
 * written is counted in {@link dev.siderolink.server.logs.LogMetrics} with its reason.
 */
package dev.siderolink.server.logs;
