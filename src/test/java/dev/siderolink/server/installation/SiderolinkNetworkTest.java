package dev.siderolink.server.installation;

import static org.assertj.core.api.Assertions.assertThat;

import inet.ipaddr.IPAddressString;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SiderolinkNetworkTest {

    /** data.installation-id exactly as stored in the documentation's Secret. */
    static final String DOC_SECRET_INSTALLATION_ID = "QUtmZGFmVGJtUGVFcWp0RGMzT1BHSzlGcmlHTzdDQ0JCSU9aRzRSamdtWT0=";

    @Test
    void worksTheDocumentationExampleFromTheStoredSecret() {
        String installationId = new String(Base64.getDecoder().decode(DOC_SECRET_INSTALLATION_ID), StandardCharsets.UTF_8);
        assertThat(installationId).isEqualTo("AKfdafTbmPeEqjtDc3OPGK9FriGO7CCBBIOZG4RjgmY=");

        SiderolinkNetwork network = SiderolinkNetwork.fromInstallationId(installationId);
        assertThat(network.prefixText()).isEqualTo("fdae:2859:5bb1:7a03::/64");
        assertThat(network.serverAddress().toCompressedString()).isEqualTo("fdae:2859:5bb1:7a03::1");
        // a node address seen in that installation lies in the prefix
        var seen = new IPAddressString("fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09/64").getAddress();
        assertThat(network.contains(seen)).isTrue();
    }

    @Test
    void documentationPrivateKeyGivesTheDocumentedPublicKey() {
        String privateKey = new String(Base64.getDecoder().decode("ME05bHhBd3JwV0hDczhNbm1aR3RDL1ZjK0ZSUFM5UzQwd25IU00wQ3dHOD0="), StandardCharsets.UTF_8);
        assertThat(privateKey).isEqualTo("0M9lxAwrpWHCs8MnmZGtC/Vc+FRPS9S40wnHSM0CwG8=");
        InstallationIdentity identity = InstallationIdentity.from(new InstallationSecret("AKfdafTbmPeEqjtDc3OPGK9FriGO7CCBBIOZG4RjgmY=", privateKey));
        assertThat(identity.publicKey().toBase64()).isEqualTo("ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=");
        assertThat(identity.network().prefixText()).isEqualTo("fdae:2859:5bb1:7a03::/64");
    }

    @ParameterizedTest(name = "installation id \"{0}\"")
    @CsvSource({
        "test-installation, fd1a:417e:7824:ca03::/64, fd1a:417e:7824:ca03::1",
        "'',                fdae:41e4:649b:9303::/64, fdae:41e4:649b:9303::1",
    })
    void derivesThePrefixOfTheProtocolSpecExamples(String id, String prefix, String server) {
        SiderolinkNetwork network = SiderolinkNetwork.fromInstallationId(id);
        assertThat(network.prefixText()).isEqualTo(prefix);
        assertThat(network.serverAddress().toCompressedString()).isEqualTo(server);
    }

    @Test
    void nodeAddressIsThePrefixPlusTheInterfaceId() {
        SiderolinkNetwork network = SiderolinkNetwork.fromInstallationId("test-installation");
        var node = network.nodeAddress(new byte[] {0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f, 0x70, (byte) 0x81});
        assertThat(SiderolinkNetwork.withPrefixLength(node)).isEqualTo("fd1a:417e:7824:ca03:1a2b:3c4d:5e6f:7081/64");
        assertThat(network.contains(node)).isTrue();
        assertThat(network.contains(new IPAddressString("fd1a:417e:7824:ca04::5").getAddress())).isFalse();
        assertThat(network.contains(new IPAddressString("10.0.0.1").getAddress())).isFalse();
    }

    @ParameterizedTest
    @CsvSource({
        "fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09/64, fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09",
        "fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09,    fdae:2859:5bb1:7a03:3ae3:be30:7ec4:4c09",
        "FDAE:2859:5BB1:7A03:0:0:0:9/64,             fdae:2859:5bb1:7a03::9",
    })
    void parsesStoredAddressesWithOrWithoutPrefixLength(String stored, String bare) {
        assertThat(SiderolinkNetwork.parseStored(stored)).hasValueSatisfying(a -> assertThat(a.toCompressedString()).isEqualTo(bare));
    }

    @ParameterizedTest
    @CsvSource({"garbage", "10.0.0.1/24", "' '"})
    void storedAddressesThatAreNotIpv6AreNotUsable(String stored) {
        assertThat(SiderolinkNetwork.parseStored(stored)).isEmpty();
    }
}
