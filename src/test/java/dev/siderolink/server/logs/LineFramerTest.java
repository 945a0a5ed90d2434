package dev.siderolink.server.logs;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineFramerTest {

    private final List<String> lines = new ArrayList<>();
    private int oversize;
    private final LineFramer.Lines sink = new LineFramer.Lines() {
        @Override
        public void line(byte[] bytes, int off, int len) {
            lines.add(new String(bytes, off, len, StandardCharsets.UTF_8));
        }

        @Override
        public void oversize() {
            oversize++;
        }
    };

    private static ByteBuf buf(String text) {
        return Unpooled.copiedBuffer(text, StandardCharsets.UTF_8);
    }

    @Test
    void cutsLinesAndJoinsOnesSplitAcrossReads() {
        LineFramer framer = new LineFramer(100);
        framer.feed(buf("a\nbb\ncc"), sink);
        framer.feed(buf("c"), sink);
        framer.feed(buf("c\n\nd"), sink);
        framer.feed(buf("\n"), sink);
        assertThat(lines).containsExactly("a", "bb", "cccc", "", "d");
        assertThat(framer.finish()).isFalse();
    }

    @Test
    void dropsLineLongerThanLimitAndKeepsGoing() {
        LineFramer framer = new LineFramer(10);
        framer.feed(buf("0123456789\n01234567890\nok\n"), sink);
        assertThat(lines).containsExactly("0123456789", "ok");
        assertThat(oversize).isEqualTo(1);
    }

    @Test
    void overlongLineSpreadOverManyReadsCountsOnceAndHoldsNoMemory() {
        LineFramer framer = new LineFramer(10);
        framer.feed(buf("012345"), sink);
        for (int i = 0; i < 1000; i++) {
            framer.feed(buf("0123456789"), sink); // 10 KB of one line, read after read
        }
        framer.feed(buf("tail\nnext\n"), sink);
        assertThat(oversize).isEqualTo(1);
        assertThat(lines).containsExactly("next");
    }

    @Test
    void partialFinalLineIsReportedAtEndOfStream() {
        LineFramer framer = new LineFramer(100);
        framer.feed(buf("whole\nhal"), sink);
        assertThat(lines).containsExactly("whole");
        assertThat(framer.finish()).isTrue();
        assertThat(framer.finish()).isFalse();
    }

    @Test
    void oversizeTailIsNotAlsoCountedAsPartial() {
        LineFramer framer = new LineFramer(4);
        framer.feed(buf("0123456789"), sink);
        assertThat(oversize).isEqualTo(1);
        assertThat(framer.finish()).isFalse();
    }
}
