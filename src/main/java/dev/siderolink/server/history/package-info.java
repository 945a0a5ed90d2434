/** Per-server history of events and kernel log lines, in memory within a byte budget. */
package dev.siderolink.server.history;
