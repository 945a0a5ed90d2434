/**
 * The JSON-line streams' outputs: one serialized writer per target ({@code stdout} or a file), fed
 * with ready-made chunks of whole lines through a queue bounded in bytes. Streams that share a
 * target (logs and events both on stdout, in one process) share its writer, so lines never
 * interleave. Receivers that can wait (TCP) are told to pause when the queue is full; those that
 * cannot (UDP) have their chunk refused and count the drop.
 */
package dev.siderolink.server.output;
