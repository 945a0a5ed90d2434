/**
 * The server's WireGuard side: the {@code siderolink} interface (kernel module, else
 * {@code wireguard-go}), its peers kept equal to the ServerBindings, and each server's
 * connectivity read back from {@code wg show <if> dump}.
 *
 * <p>Every system command goes through {@link dev.siderolink.server.wireguard.WgCommands}: an argv
 * list (never a shell), a timeout, secrets on standard input. The peer sync is a pure function,
 * {@link dev.siderolink.server.wireguard.PeerPlan}, from desired peers and the current dump to one
 * batched {@code wg set}; {@link dev.siderolink.server.wireguard.PeerReconciler} runs it on a
 * schedule and whenever a binding changes. See DESIGN.md beside this file.
 */
package dev.siderolink.server.wireguard;
