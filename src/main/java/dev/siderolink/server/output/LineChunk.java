package dev.siderolink.server.output;

/**
 * Whole JSON lines (each ending in {@code \n}) ready to be written: {@code bytes[0, length)}.
 *
 * @param bytes the lines; not touched by the producer once handed over
 * @param length number of bytes used
 * @param lines number of lines, for the stream's counters
 * @param stream told what became of the lines
 */
public record LineChunk(byte[] bytes, int length, int lines, Stream stream) {

    /** What a chunk's producer wants to hear about it. Called on the writer's thread. */
    public interface Stream {
        void written(int lines, int bytes);

        void failed(int lines);
    }
}
