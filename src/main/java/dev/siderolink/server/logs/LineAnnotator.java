package dev.siderolink.server.logs;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.siderolink.server.inventory.Annotation;
import java.io.IOException;
import java.util.Arrays;
import java.util.Set;

/**
 * Turns one message into one output line: checks that it is exactly one JSON object (Jackson's
 * streaming parser validates every token, nested values included), then writes its members
 * followed by the annotation's, all in sorted key order, as the reference does.
 *
 * <p>Members are copied byte for byte from the message, so Talos' fields reach the output exactly
 * as sent (escapes such as {@code \u003c}, number spelling). A member whose key is one of the
 * annotation fields is never copied: those come from the server's own lookup only, so a node
 * cannot claim to be another server. Of duplicate keys the last one wins, as in Go's decoder.
 *
 * <p>One instance per thread: it keeps scratch arrays between calls.
 */
final class LineAnnotator {

    private static final JsonFactory JSON = new JsonFactory();
    private static final Set<String> RESERVED = Set.copyOf(Annotation.FIELD_NAMES);

    private String[] names = new String[16];
    private int[] starts = new int[16];
    private int[] ends = new int[16];
    private Integer[] order = new Integer[16];

    /**
     * Appends the annotated line, {@code \n} included, to {@code out}.
     *
     * @return false when {@code in[off, off+len)} is not one JSON object; nothing is appended then
     */
    boolean annotate(byte[] in, int off, int len, EncodedAnnotation annotation, LineBuffer out) {
        int end = off + len;
        while (end > off && isWhitespace(in[end - 1])) {
            end--;
        }
        int count = 0;
        boolean sorted = true;
        boolean multiline;
        try (JsonParser parser = JSON.createParser(in, off, end - off)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            JsonToken token;
            while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
                int start = off + (int) parser.currentTokenLocation().getByteOffset();
                if (count > 0) {
                    ends[count - 1] = memberEnd(in, start);
                }
                if (count == names.length) {
                    grow();
                }
                String name = parser.currentName();
                if (count > 0 && sorted && name.compareTo(names[count - 1]) < 0) {
                    sorted = false;
                }
                names[count] = name;
                starts[count] = start;
                count++;
                parser.nextToken();
                parser.skipChildren();
            }
            if (token != JsonToken.END_OBJECT) {
                return false;
            }
            if (count > 0) {
                ends[count - 1] = memberEnd(in, off + (int) parser.currentTokenLocation().getByteOffset());
            }
            if (parser.nextToken() != null) {
                return false; // something after the object
            }
            multiline = parser.currentLocation().getLineNr() > 1;
        } catch (IOException | RuntimeException e) {
            return false; // not JSON, or over Jackson's nesting/size limits
        }
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        if (!sorted) {
            Arrays.sort(order, 0, count, (a, b) -> names[a].compareTo(names[b])); // stable: equal keys keep their order
        }
        write(in, count, annotation, multiline, out);
        return true;
    }

    private void write(byte[] in, int count, EncodedAnnotation annotation, boolean multiline, LineBuffer out) {
        out.put((byte) '{');
        boolean first = true;
        int a = 0;
        String[] extra = annotation.names;
        for (int k = 0; k < count; k++) {
            int i = order[k];
            String name = names[i];
            if (k + 1 < count && names[order[k + 1]].equals(name)) {
                continue; // a later duplicate wins
            }
            if (RESERVED.contains(name)) {
                continue;
            }
            while (a < extra.length && extra[a].compareTo(name) < 0) {
                first = separator(out, first);
                out.put(annotation.members[a], 0, annotation.members[a].length);
                a++;
            }
            first = separator(out, first);
            if (multiline) {
                out.putOnOneLine(in, starts[i], ends[i] - starts[i]);
            } else {
                out.put(in, starts[i], ends[i] - starts[i]);
            }
        }
        for (; a < extra.length; a++) {
            first = separator(out, first);
            out.put(annotation.members[a], 0, annotation.members[a].length);
        }
        out.put((byte) '}');
        out.put((byte) '\n');
        out.lineDone();
    }

    private static boolean separator(LineBuffer out, boolean first) {
        if (!first) {
            out.put((byte) ',');
        }
        return false;
    }

    /** The end of the member before the token at {@code next}: back over whitespace, one comma, whitespace. */
    private static int memberEnd(byte[] in, int next) {
        int i = next;
        while (isWhitespace(in[i - 1])) {
            i--;
        }
        if (in[i - 1] == ',') {
            i--;
            while (isWhitespace(in[i - 1])) {
                i--;
            }
        }
        return i;
    }

    private static boolean isWhitespace(byte b) {
        return b == ' ' || b == '\n' || b == '\r' || b == '\t';
    }

    private void grow() {
        int size = names.length * 2;
        names = Arrays.copyOf(names, size);
        starts = Arrays.copyOf(starts, size);
        ends = Arrays.copyOf(ends, size);
        order = Arrays.copyOf(order, size);
    }
}
