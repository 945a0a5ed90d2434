/**
 * Installation identity: the {@code siderolink} Secret (installation id + WireGuard private key),
 * the keys derived from it, the /64 address plan and collision-free node address allocation.
 *
 * <p>Addressing follows siderolink's rule: the prefix is derived from SHA-256 of the
 * installation id text, so every replica and every restart computes the same network.
 */
package dev.siderolink.server.installation;
