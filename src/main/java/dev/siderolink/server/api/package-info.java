/** The HTTP API on {@code server.port}: servers, their history (followed or not), kernel arguments (docs/api.md). */
package dev.siderolink.server.api;
