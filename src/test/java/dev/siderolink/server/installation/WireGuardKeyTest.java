package dev.siderolink.server.installation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WireGuardKeyTest {

    /** The documentation's own Secret (sidero-behaviour.md, "Worked example"). */
    static final String DOC_PRIVATE_KEY = "0M9lxAwrpWHCs8MnmZGtC/Vc+FRPS9S40wnHSM0CwG8=";
    static final String DOC_PUBLIC_KEY = "ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=";

    @Test
    void derivesThePublicKeyWgPubkeyGivesForTheDocumentationSecret() {
        WireGuardKey priv = WireGuardKey.parsePrivate(DOC_PRIVATE_KEY, "private-key");
        assertThat(priv.publicKey().toBase64()).isEqualTo(DOC_PUBLIC_KEY);
    }

    @Test
    void agreesWithTheRealWgPubkeyOnRandomKeys() throws Exception {
        Path wg = Path.of("/usr/bin/wg");
        assumeTrue(Files.isExecutable(wg), "wireguard-tools is not installed (scripts/test.sh installs it)");
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < 5; i++) {
            WireGuardKey priv = WireGuardKey.generatePrivate(random);
            assertThat(priv.publicKey().toBase64()).isEqualTo(wgPubkey(wg, priv.toBase64()));
        }
    }

    private static String wgPubkey(Path wg, String privateKey) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(wg.toString(), "pubkey").redirectErrorStream(true).start();
        process.getOutputStream().write((privateKey + "\n").getBytes(StandardCharsets.US_ASCII));
        process.getOutputStream().close();
        assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
    }

    @Test
    void generatedPrivateKeysAreClampedLikeWgGenkey() {
        byte[] k = Base64.getDecoder().decode(WireGuardKey.generatePrivate(new SecureRandom()).toBase64());
        assertThat(k[0] & 7).isZero();
        assertThat(k[31] & 0x80).isZero();
        assertThat(k[31] & 0x40).isEqualTo(0x40);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "empty|''|is empty",
        "not base64|'not a key at all!!'|is not valid base64",
        "too short|'AAAA'|decodes to 3 bytes",
        "33 bytes|'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'|decodes to 33 bytes",
        "unpadded|'ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U'|exactly 44 base64 characters",
    })
    void refusesMalformedPublicKeysSayingWhatIsWrong(String name, String text, String expected) {
        assertThatThrownBy(() -> WireGuardKey.parsePublic(text, "node_public_key"))
                .isInstanceOf(InvalidKeyException.class)
                .hasMessageStartingWith("node_public_key")
                .hasMessageContaining(expected);
    }

    @Test
    void privateKeysNeverPrintThemselvesNorAppearInErrors() {
        WireGuardKey priv = WireGuardKey.parsePrivate(DOC_PRIVATE_KEY, "private-key");
        assertThat(priv.toString()).doesNotContain(DOC_PRIVATE_KEY).contains("redacted");
        String broken = "0M9lxAwrpWHCs8Mn!ZGtC/Vc+FRPS9S40wnHSM0CwG8=";
        assertThatThrownBy(() -> WireGuardKey.parsePrivate(broken, "private-key"))
                .hasMessageNotContaining(broken)
                .hasMessageNotContaining("!");
    }

    @Test
    void publicKeysRoundTripAndCompareByValue() {
        WireGuardKey a = WireGuardKey.parsePublic(DOC_PUBLIC_KEY, "k");
        assertThat(a.toBase64()).isEqualTo(DOC_PUBLIC_KEY);
        assertThat(a).isEqualTo(WireGuardKey.parsePublic(DOC_PUBLIC_KEY, "k")).hasToString(DOC_PUBLIC_KEY);
    }
}
