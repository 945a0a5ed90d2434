package dev.siderolink.server.logs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.inventory.Annotation;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LineAnnotatorTest {

    /** The seed documentation's example: Talos' fields as a node sends them. */
    static final String SEED_TALOS = "{\"clock\":8576583,\"facility\":\"user\",\"msg\":\"[talos] phase mountState (6/13): 1 tasks(s)\\n\","
            + "\"priority\":\"warning\",\"seq\":665,\"talos-level\":\"warn\",\"talos-time\":\"2022-02-11T12:42:02.74807823Z\"}";
    /** ... and the line the documentation shows for it. */
    static final String SEED_LINE = "{\"clock\":8576583,\"cluster\":\"management-cluster\",\"facility\":\"user\",\"machine\":\"management-cluster-cp-ddgsw\","
            + "\"metal_machine\":\"management-cluster-cp-vrff4\",\"msg\":\"[talos] phase mountState (6/13): 1 tasks(s)\\n\",\"namespace\":\"default\","
            + "\"priority\":\"warning\",\"seq\":665,\"server_uuid\":\"6b121f82-24a8-4611-9d23-fa1a5ba564f0\",\"talos-level\":\"warn\","
            + "\"talos-time\":\"2022-02-11T12:42:02.74807823Z\"}";
    static final Annotation SEED_ANNOTATION = new Annotation("6b121f82-24a8-4611-9d23-fa1a5ba564f0", "default", "management-cluster-cp-vrff4",
            "management-cluster-cp-ddgsw", "management-cluster");

    private final LineAnnotator annotator = new LineAnnotator();

    private String annotate(String message, Annotation annotation) {
        LineBuffer out = new LineBuffer(64);
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        if (!annotator.annotate(bytes, 0, bytes.length, new EncodedAnnotation(annotation), out)) {
            assertThat(out.length()).as("nothing written for a refused message").isZero();
            return null;
        }
        var chunk = out.take(null);
        assertThat(chunk.lines()).isEqualTo(1);
        String line = new String(chunk.bytes(), 0, chunk.length(), StandardCharsets.UTF_8);
        assertThat(line).endsWith("\n").doesNotContain("\r");
        assertThat(line.indexOf('\n')).isEqualTo(line.length() - 1);
        return line.substring(0, line.length() - 1);
    }

    @Test
    void seedExampleComesOutExactlyAsDocumented() {
        assertThat(annotate(SEED_TALOS, SEED_ANNOTATION)).isEqualTo(SEED_LINE);
    }

    @Test
    void unboundSourceGetsNoAnnotationFieldsAtAll() {
        assertThat(annotate(SEED_TALOS, Annotation.NONE)).isEqualTo(SEED_TALOS);
    }

    @Test
    void fieldsThatDoNotResolveAreLeftOutNotEmpty() {
        Annotation onlyBinding = new Annotation("u-1", null, null, null, null);
        assertThat(annotate("{\"msg\":\"x\",\"seq\":1}", onlyBinding)).isEqualTo("{\"msg\":\"x\",\"seq\":1,\"server_uuid\":\"u-1\"}");
        Annotation noMachine = new Annotation("u-1", "ns", "mm", null, null);
        assertThat(annotate("{\"seq\":1}", noMachine)).isEqualTo("{\"metal_machine\":\"mm\",\"namespace\":\"ns\",\"seq\":1,\"server_uuid\":\"u-1\"}");
    }

    @Test
    void talosBytesPassThroughUntouched() {
        // Go's escapes, number spellings and nested values stay exactly as the node wrote them
        String message = "{\"a\":{\"z\":1,\"b\":[1,2.50,{\"c\":null}]},\"big\":12345678901234567890,\"e\":1E+3,\"msg\":\"\\u003cb\\u003e \\u0026 \u00e9 \\\"q\\\"\"}";
        assertThat(annotate(message, Annotation.NONE)).isEqualTo(message);
    }

    @Test
    void keysComeOutSortedWhateverTheInputOrder() {
        assertThat(annotate("{\"talos-time\":\"t\",\"seq\":2,\"clock\":1,\"msg\":\"m\"}", new Annotation("u", null, null, null, "c")))
                .isEqualTo("{\"clock\":1,\"cluster\":\"c\",\"msg\":\"m\",\"seq\":2,\"server_uuid\":\"u\",\"talos-time\":\"t\"}");
    }

    @Test
    void lastDuplicateKeyWinsAsInGo() {
        assertThat(annotate("{\"seq\":1,\"msg\":\"a\",\"seq\":2}", Annotation.NONE)).isEqualTo("{\"msg\":\"a\",\"seq\":2}");
    }

    @Test
    void nodeCannotClaimAnotherServersIdentity() {
        String spoof = "{\"cluster\":\"other\",\"msg\":\"m\",\"server_uuid\":\"victim\"}";
        assertThat(annotate(spoof, new Annotation("u-1", null, null, null, null))).isEqualTo("{\"msg\":\"m\",\"server_uuid\":\"u-1\"}");
        assertThat(annotate(spoof, Annotation.NONE)).isEqualTo("{\"msg\":\"m\"}");
    }

    @Test
    void whitespaceAndLineBreaksBetweenTokensBecomeOneLine() {
        assertThat(annotate("  {\n  \"seq\" : 1 ,\r\n  \"msg\":\"a b\"\n}\n", Annotation.NONE)).isEqualTo("{\"msg\":\"a b\",\"seq\" : 1}");
    }

    @Test
    void emptyObjectGetsTheAnnotation() {
        assertThat(annotate("{}", new Annotation("u", null, null, null, null))).isEqualTo("{\"server_uuid\":\"u\"}");
    }

    @Test
    void annotationValuesAreJsonEscaped() {
        assertThat(annotate("{}", new Annotation("u", null, null, null, "a\"b\\c"))).isEqualTo("{\"cluster\":\"a\\\"b\\\\c\",\"server_uuid\":\"u\"}");
    }

    @ParameterizedTest(name = "refuses {0}")
    @ValueSource(strings = {"", "   ", "not json", "[1,2]", "\"string\"", "42", "{\"a\":1", "{\"a\":1}}", "{\"a\":1} {\"b\":2}", "{\"a\":1,}",
        "{a:1}", "{\"a\":\"raw\ncontrol\"}", "{\"a\":tru}", "\u0000\u0001\u0002"})
    void refusesAnythingButOneJsonObject(String message) {
        assertThat(annotate(message, SEED_ANNOTATION)).isNull();
    }

    @Test
    void refusesBinaryGarbageAndInvalidUtf8() {
        LineBuffer out = new LineBuffer(64);
        byte[] garbage = new byte[4096];
        new java.util.Random(7).nextBytes(garbage);
        assertThat(annotator.annotate(garbage, 0, garbage.length, EncodedAnnotation.NONE, out)).isFalse();
        byte[] badUtf8 = {'{', '"', 'm', '"', ':', '"', (byte) 0xc3, (byte) 0x28, '"', '}'};
        assertThat(annotator.annotate(badUtf8, 0, badUtf8.length, EncodedAnnotation.NONE, out)).isFalse();
        assertThat(out.length()).isZero();
    }

    @ParameterizedTest(name = "{0} fields")
    @CsvSource({"1", "15", "16", "17", "200"})
    void manyFieldsInReverseOrderAreSortedAndKept(int fields) {
        StringBuilder in = new StringBuilder("{");
        for (int i = fields - 1; i >= 0; i--) {
            in.append(i == fields - 1 ? "" : ",").append(String.format("\"k%04d\":%d", i, i));
        }
        StringBuilder expected = new StringBuilder("{");
        for (int i = 0; i < fields; i++) {
            expected.append(i == 0 ? "" : ",").append(String.format("\"k%04d\":%d", i, i));
        }
        assertThat(annotate(in.append('}').toString(), Annotation.NONE)).isEqualTo(expected.append('}').toString());
    }

    @Test
    void reusesItsScratchAcrossMessages() {
        for (int i = 0; i < 3; i++) {
            assertThat(annotate(SEED_TALOS, SEED_ANNOTATION)).isEqualTo(SEED_LINE);
            assertThat(annotate("{\"z\":1,\"y\":2,\"x\":3}", Annotation.NONE)).isEqualTo("{\"x\":3,\"y\":2,\"z\":1}");
        }
    }
}
