package dev.siderolink.server.wireguard;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses {@code wg show <if> dump}: tab-separated; the first line is the interface (private key,
 * public key, listen port, fwmark), then one line per peer (public key, preshared key, endpoint,
 * allowed IPs, latest handshake, rx bytes, tx bytes, persistent keepalive). Errors name the line
 * number and field, never the line itself: the first line holds the private key.
 */
public final class WgDumpParser {

    private WgDumpParser() {}

    public static WgDump parse(String dump) {
        String[] lines = dump.split("\n", -1);
        int count = lines.length;
        while (count > 0 && lines[count - 1].isEmpty()) {
            count--;
        }
        if (count == 0) {
            throw new MalformedDumpException("empty output");
        }
        String[] iface = lines[0].split("\t", -1);
        if (iface.length != 4) {
            throw new MalformedDumpException("line 1: expected 4 tab-separated interface fields, got " + iface.length);
        }
        int listenPort = (int) number(iface[2], 1, "listen port");
        List<WgDump.Peer> peers = new ArrayList<>(count - 1);
        for (int i = 1; i < count; i++) {
            peers.add(peer(lines[i].split("\t", -1), i + 1));
        }
        return new WgDump(iface[1], listenPort, List.copyOf(peers));
    }

    private static WgDump.Peer peer(String[] f, int line) {
        if (f.length != 8) {
            throw new MalformedDumpException("line " + line + ": expected 8 tab-separated peer fields, got " + f.length);
        }
        if (f[0].length() != 44) {
            throw new MalformedDumpException("line " + line + ": peer public key is not 44 characters");
        }
        String endpoint = "(none)".equals(f[2]) ? null : f[2];
        List<String> allowed = "(none)".equals(f[3]) || f[3].isEmpty() ? List.of() : Arrays.asList(f[3].split(","));
        long handshake = number(f[4], line, "latest handshake");
        long rx = number(f[5], line, "rx bytes");
        long tx = number(f[6], line, "tx bytes");
        int keepalive = "off".equals(f[7]) ? 0 : (int) number(f[7], line, "persistent keepalive");
        return new WgDump.Peer(f[0], endpoint, List.copyOf(allowed), handshake == 0 ? null : Instant.ofEpochSecond(handshake), rx, tx, keepalive);
    }

    private static long number(String text, int line, String field) {
        try {
            long value = Long.parseLong(text);
            if (value < 0) {
                throw new NumberFormatException();
            }
            return value;
        } catch (NumberFormatException e) {
            throw new MalformedDumpException("line " + line + ": " + field + " is not a non-negative number");
        }
    }

    /** Output that is not a {@code wg show dump}. */
    public static class MalformedDumpException extends RuntimeException {
        public MalformedDumpException(String message) {
            super("unexpected `wg show dump` output: " + message);
        }
    }
}
