package dev.siderolink.server.logs;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;
import java.util.Arrays;

/**
 * Cuts one TCP stream into {@code \n}-terminated lines of at most {@code maxLine} bytes. A longer
 * line is reported once as oversize and skipped up to its newline; the connection goes on. Bytes
 * after the last newline wait for the next read; at the end of the stream they are a partial line,
 * which Talos itself gives up on (it drops a record after a partial write), so it is dropped too.
 *
 * <p>One per connection, used from its event loop only. Memory: the partial line only, released
 * when the line completes.
 */
final class LineFramer {

    /** Receives each complete line (without its newline); the bytes are valid during the call only. */
    interface Lines {
        void line(byte[] bytes, int off, int len);

        void oversize();
    }

    private static final int KEEP_PENDING_BYTES = 4096;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[8192]);

    private final int maxLine;
    private byte[] pending;
    private int pendingLength;
    private boolean discarding;

    LineFramer(int maxLine) {
        this.maxLine = maxLine;
    }

    void feed(ByteBuf buf, Lines lines) {
        while (buf.isReadable()) {
            int newline = buf.forEachByte(ByteProcessor.FIND_LF);
            if (newline < 0) {
                keepPartial(buf, lines);
                return;
            }
            int length = newline - buf.readerIndex();
            if (discarding) {
                discarding = false; // the rest of an oversize line, already counted
            } else if (pendingLength + length > maxLine) {
                lines.oversize();
                releasePending();
            } else if (pendingLength == 0) {
                byte[] scratch = scratch(length);
                buf.getBytes(buf.readerIndex(), scratch, 0, length);
                lines.line(scratch, 0, length);
            } else {
                appendPending(buf, buf.readerIndex(), length);
                lines.line(pending, 0, pendingLength);
                releasePending();
            }
            buf.readerIndex(newline + 1);
        }
    }

    private void keepPartial(ByteBuf buf, Lines lines) {
        int length = buf.readableBytes();
        if (!discarding) {
            if (pendingLength + length > maxLine) {
                lines.oversize();
                releasePending();
                discarding = true;
            } else {
                appendPending(buf, buf.readerIndex(), length);
            }
        }
        buf.skipBytes(length);
    }

    /** At the end of the stream: true when an unfinished line was dropped (not counting an oversize one already reported). */
    boolean finish() {
        boolean partial = pendingLength > 0;
        releasePending();
        discarding = false;
        return partial;
    }

    private void appendPending(ByteBuf buf, int index, int length) {
        int needed = pendingLength + length;
        if (pending == null || pending.length < needed) {
            pending = Arrays.copyOf(pending == null ? new byte[0] : pending, Math.max(needed, Math.min(maxLine, Math.max(256, needed * 2))));
        }
        buf.getBytes(index, pending, pendingLength, length);
        pendingLength = needed;
    }

    private void releasePending() {
        pendingLength = 0;
        if (pending != null && pending.length > KEEP_PENDING_BYTES) {
            pending = null; // do not keep a large array on an idle connection
        }
    }

    private static byte[] scratch(int length) {
        byte[] scratch = SCRATCH.get();
        if (scratch.length < length) {
            scratch = new byte[Math.max(length, scratch.length * 2)];
            SCRATCH.set(scratch);
        }
        return scratch;
    }
}
