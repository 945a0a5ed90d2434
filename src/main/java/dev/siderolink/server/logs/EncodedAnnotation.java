package dev.siderolink.server.logs;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.siderolink.server.inventory.Annotation;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** An {@link Annotation}'s fields as ready-to-copy JSON members ({@code "name":"value"}), in sorted name order. */
final class EncodedAnnotation {

    static final EncodedAnnotation NONE = new EncodedAnnotation(Annotation.NONE);

    final Annotation source;
    final String[] names;
    final byte[][] members;

    EncodedAnnotation(Annotation source) {
        this.source = source;
        List<Map.Entry<String, String>> fields = source.fields();
        names = new String[fields.size()];
        members = new byte[fields.size()][];
        for (int i = 0; i < names.length; i++) {
            names[i] = fields.get(i).getKey();
            members[i] = member(fields.get(i).getKey(), fields.get(i).getValue());
        }
    }

    private static byte[] member(String name, String value) {
        JsonStringEncoder encoder = JsonStringEncoder.getInstance();
        ByteArrayOutputStream out = new ByteArrayOutputStream(name.length() + value.length() + 8);
        out.write('"');
        out.writeBytes(encoder.quoteAsUTF8(name));
        out.writeBytes("\":\"".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(encoder.quoteAsUTF8(value));
        out.write('"');
        return out.toByteArray();
    }

    /** This encoding when it is of {@code annotation} (same instance), else a new one. */
    EncodedAnnotation reuseFor(Annotation annotation) {
        return annotation == source ? this : annotation == Annotation.NONE ? NONE : new EncodedAnnotation(annotation);
    }
}
