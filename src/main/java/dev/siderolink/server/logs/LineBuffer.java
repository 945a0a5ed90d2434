package dev.siderolink.server.logs;

import dev.siderolink.server.output.LineChunk;
import java.util.Arrays;

/** A growable byte array that collects finished lines and hands them over as one {@link LineChunk}. */
final class LineBuffer {

    private static final byte[] EMPTY = new byte[0];

    private final int initialCapacity;
    private byte[] bytes = EMPTY; // allocated on first use: an idle connection holds nothing
    private int length;
    private int lines;

    LineBuffer(int initialCapacity) {
        this.initialCapacity = initialCapacity;
    }

    void ensure(int more) {
        if (length + more > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(Math.max(initialCapacity, bytes.length * 2), length + more));
        }
    }

    void put(byte b) {
        ensure(1);
        bytes[length++] = b;
    }

    void put(byte[] src, int off, int len) {
        ensure(len);
        System.arraycopy(src, off, bytes, length, len);
        length += len;
    }

    /** Copies {@code src[off, off+len)} with raw CR and LF (whitespace between JSON tokens) turned into spaces. */
    void putOnOneLine(byte[] src, int off, int len) {
        ensure(len);
        for (int i = 0; i < len; i++) {
            byte b = src[off + i];
            bytes[length++] = b == '\n' || b == '\r' ? (byte) ' ' : b;
        }
    }

    int length() {
        return length;
    }

    int lines() {
        return lines;
    }

    /** Marks the end of a line just written (its {@code \n} included). */
    void lineDone() {
        lines++;
    }

    /** Drops what was written after {@code mark} (a line that turned out malformed). */
    void truncate(int mark) {
        length = mark;
    }

    boolean isEmpty() {
        return lines == 0;
    }

    /** Hands the lines over (the array is not touched again) and starts a new, empty buffer. */
    LineChunk take(LineChunk.Stream stream) {
        LineChunk chunk = new LineChunk(bytes, length, lines, stream);
        bytes = EMPTY;
        length = 0;
        lines = 0;
        return chunk;
    }
}
