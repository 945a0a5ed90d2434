package dev.siderolink.server.talosapi;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * xids (github.com/rs/xid) as Talos uses them for event ids: 12 bytes (4-byte big-endian Unix
 * seconds, 3-byte machine id, 2-byte pid, 3-byte counter) written as 20 lower-case base32hex
 * characters. Their text order is their byte order, so comparing texts compares creation seconds
 * first.
 */
final class Xid {

    private static final String ALPHABET = "0123456789abcdefghijklmnopqrstuv";
    private static final int LENGTH = 20;

    private final byte[] machine = new byte[3];
    private final int pid;
    private final AtomicInteger counter;

    Xid(SecureRandom random) {
        random.nextBytes(machine);
        pid = (int) (ProcessHandle.current().pid() & 0xFFFF);
        counter = new AtomicInteger(random.nextInt());
    }

    /** A new id for this second. */
    String next(Instant now) {
        byte[] id = new byte[12];
        long seconds = now.getEpochSecond();
        id[0] = (byte) (seconds >>> 24);
        id[1] = (byte) (seconds >>> 16);
        id[2] = (byte) (seconds >>> 8);
        id[3] = (byte) seconds;
        System.arraycopy(machine, 0, id, 4, 3);
        id[7] = (byte) (pid >>> 8);
        id[8] = (byte) pid;
        int count = counter.getAndIncrement();
        id[9] = (byte) (count >>> 16);
        id[10] = (byte) (count >>> 8);
        id[11] = (byte) count;
        return encode(id);
    }

    static String encode(byte[] id) {
        StringBuilder text = new StringBuilder(LENGTH);
        int buffer = 0;
        int bits = 0;
        for (byte b : id) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                text.append(ALPHABET.charAt((buffer >>> (bits - 5)) & 0x1F));
                bits -= 5;
            }
        }
        text.append(ALPHABET.charAt((buffer << (5 - bits)) & 0x1F)); // 96 bits: the last character holds 1 bit
        return text.toString();
    }

    /** The 12 bytes of a valid xid text; IllegalArgumentException otherwise. */
    static byte[] decode(String text) {
        if (text == null || text.length() != LENGTH) {
            throw new IllegalArgumentException("an xid has 20 characters");
        }
        byte[] id = new byte[12];
        int buffer = 0;
        int bits = 0;
        int index = 0;
        for (int i = 0; i < LENGTH; i++) {
            int value = ALPHABET.indexOf(text.charAt(i));
            if (value < 0) {
                throw new IllegalArgumentException("an xid is written with 0-9 and a-v only");
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8 && index < 12) {
                id[index++] = (byte) (buffer >>> (bits - 8));
                bits -= 8;
            }
        }
        if (!encode(id).equals(text)) {
            throw new IllegalArgumentException("not a canonical xid");
        }
        return id;
    }

    /** The creation second of a valid xid text. */
    static long epochSecond(String text) {
        byte[] id = decode(text);
        return ((id[0] & 0xFFL) << 24) | ((id[1] & 0xFFL) << 16) | ((id[2] & 0xFFL) << 8) | (id[3] & 0xFFL);
    }

    /** The creation second, or -1 when the text is not an xid (such events count as very old). */
    static long epochSecondOrMinus1(String text) {
        try {
            return epochSecond(text);
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }
}
