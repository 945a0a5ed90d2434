package dev.siderolink.server.wireguard;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The peer sync as a pure function: desired peers (public key → allowed IP) against the current
 * dump gives the changes, removals first, then additions and updates, in one list that becomes
 * one {@code wg set} call. Allowed IPs are replaced, never merged; a peer already right is not
 * touched; an empty plan means nothing is written.
 */
public final class PeerPlan {

    private PeerPlan() {}

    /** One change: remove a peer, or set (add or replace) its allowed IPs. */
    public sealed interface Change permits Remove, Set {}

    public record Remove(String publicKey) implements Change {}

    public record Set(String publicKey, String allowedIp) implements Change {}

    /**
     * @param desired public key → the single allowed IP ({@code addr/128}); keys are unique by construction
     * @param current the interface's peers now
     */
    public static List<Change> plan(Map<String, String> desired, WgDump current) {
        List<Change> removals = new ArrayList<>();
        List<Change> sets = new ArrayList<>();
        Map<String, WgDump.Peer> existing = current.peersByKey();
        for (WgDump.Peer peer : current.peers()) {
            if (!desired.containsKey(peer.publicKey())) {
                removals.add(new Remove(peer.publicKey()));
            }
        }
        // sorted: deterministic commands, easy to read in logs and tests
        for (Map.Entry<String, String> want : new TreeMap<>(desired).entrySet()) {
            WgDump.Peer have = existing.get(want.getKey());
            if (have == null || !Objects.equals(have.allowedIps(), List.of(want.getValue()))) {
                sets.add(new Set(want.getKey(), want.getValue()));
            }
        }
        // Removals first: a rebooted node's old key still holds its address, and WireGuard lets an
        // allowed IP belong to one peer only.
        removals.addAll(sets);
        return List.copyOf(removals);
    }

    /** The {@code wg set <if> ...} arguments after the interface name. */
    public static List<String> arguments(List<Change> changes) {
        List<String> args = new ArrayList<>(changes.size() * 4);
        for (Change change : changes) {
            if (change instanceof Remove remove) {
                args.addAll(List.of("peer", remove.publicKey(), "remove"));
            } else if (change instanceof Set set) {
                args.addAll(List.of("peer", set.publicKey(), "allowed-ips", set.allowedIp()));
            }
        }
        return args;
    }
}
