package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.testing.GrpcPort;
import dev.siderolink.server.testing.ProvisionClient;
import dev.siderolink.server.testing.ScriptedRandom;
import inet.ipaddr.IPAddressString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/**
 * What every store must give a Talos node calling Provision, tested through a real gRPC channel
 * against the running application. Subclasses supply the store (both are configured with the
 * join token {@value #TOKEN} and three WireGuard endpoints).
 */
@ExtendWith(OutputCaptureExtension.class)
abstract class ProvisionContract {

    static final String TOKEN = "s3cr3t-join-token";
    /** Preference order a, b, c: on the wire c, b, a. */
    static final String ENDPOINTS = "a.example.com,b.example.com:5000,2001:db8::10";
    static final List<String> ENDPOINTS_ON_WIRE = List.of("[2001:db8::10]:51821", "b.example.com:5000", "a.example.com:51821");

    @Autowired GrpcPort grpcPort;
    @Autowired InstallationIdentity identity;
    @Autowired ScriptedRandom random;
    @Autowired MeterRegistry meters;

    ProvisionClient client;

    /** Makes a binding exist, with {@code address} already set when not null. */
    abstract void createBinding(String uuid, String address);

    /** {@code spec.siderolink} as it is stored (read from the store's backing, not the cache). */
    abstract ServerBinding.Siderolink stored(String uuid);

    @BeforeEach
    void connect() {
        client = new ProvisionClient("127.0.0.1", grpcPort.get());
    }

    @AfterEach
    void disconnect() throws InterruptedException {
        client.close();
    }

    static String uuid() {
        return UUID.randomUUID().toString();
    }

    ProvisionResponse provision(String uuid, String key) {
        return client.provision(ProvisionClient.request(uuid, key).setJoinToken(TOKEN).build());
    }

    @Test
    void givesAKnownServerItsTunnelConfiguration() {
        String uuid = uuid();
        createBinding(uuid, null);
        String key = ProvisionClient.newKey();

        ProvisionResponse response = provision(uuid, key);

        assertThat(response.getServerEndpointList()).containsExactlyElementsOf(ENDPOINTS_ON_WIRE);
        assertThat(response.getServerPublicKey()).isEqualTo(identity.publicKey().toBase64());
        assertThat(response.getServerAddress()).isEqualTo(identity.network().serverAddress().toCompressedString()).doesNotContain("/");
        assertThat(response.getNodeAddressPrefix()).endsWith("/64");
        var address = new IPAddressString(response.getNodeAddressPrefix()).getAddress();
        assertThat(identity.network().contains(address)).isTrue();
        assertThat(response.getNodeAddressPrefix()).isNotEqualTo(response.getServerAddress() + "/64");
        assertThat(response.getGrpcPeerAddrPort()).isEmpty();

        assertThat(stored(uuid)).isEqualTo(new ServerBinding.Siderolink(response.getNodeAddressPrefix(), key));
    }

    @Test
    void aRebootedNodeKeepsItsAddressAndItsNewKeyReplacesTheOld() {
        String uuid = uuid();
        createBinding(uuid, null);
        ProvisionResponse first = provision(uuid, ProvisionClient.newKey());
        String rebootKey = ProvisionClient.newKey();

        ProvisionResponse second = provision(uuid, rebootKey);

        assertThat(second.getNodeAddressPrefix()).isEqualTo(first.getNodeAddressPrefix());
        assertThat(stored(uuid)).isEqualTo(new ServerBinding.Siderolink(first.getNodeAddressPrefix(), rebootKey));
    }

    @Test
    void keepsAnAddressAnOperatorAlreadyStoredInTheBinding() {
        String uuid = uuid();
        String address = identity.network().nodeAddress(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}).toCompressedString() + "/64";
        createBinding(uuid, address);

        assertThat(provision(uuid, ProvisionClient.newKey()).getNodeAddressPrefix()).isEqualTo(address);
    }

    @Test
    void replacesAStoredAddressOutsideThisInstallationsPrefix() {
        String uuid = uuid();
        createBinding(uuid, "fd00:dead:beef:1::5/64");

        ProvisionResponse response = provision(uuid, ProvisionClient.newKey());

        assertThat(identity.network().contains(new IPAddressString(response.getNodeAddressPrefix()).getAddress())).isTrue();
        assertThat(stored(uuid).address()).isEqualTo(response.getNodeAddressPrefix());
    }

    @Test
    void neverAssignsAnAddressAnotherServerAlreadyHolds() {
        byte[] taken = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x88};
        byte[] free = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x99};
        String holder = uuid();
        String takenAddress = SiderolinkNetwork.withPrefixLength(identity.network().nodeAddress(taken));
        createBinding(holder, takenAddress);
        provision(holder, ProvisionClient.newKey()); // the store has certainly seen the holder now

        String newcomer = uuid();
        createBinding(newcomer, null);
        random.queueInterfaceId(taken);
        random.queueInterfaceId(free);

        ProvisionResponse response = provision(newcomer, ProvisionClient.newKey());

        assertThat(response.getNodeAddressPrefix()).isEqualTo(SiderolinkNetwork.withPrefixLength(identity.network().nodeAddress(free)));
        assertThat(stored(holder).address()).isEqualTo(takenAddress);
    }

    @Test
    void concurrentCallsForOneServerEndWithOneAddressAndTheLastKey() throws Exception {
        String uuid = uuid();
        createBinding(uuid, null);
        List<String> keys = new ArrayList<>();
        List<Future<ProvisionResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String key = ProvisionClient.newKey();
            keys.add(key);
            calls.add(client.futureStub().provision(ProvisionClient.request(uuid, key).setJoinToken(TOKEN).build()));
        }
        Set<String> addresses = new HashSet<>();
        for (Future<ProvisionResponse> call : calls) {
            addresses.add(call.get(30, TimeUnit.SECONDS).getNodeAddressPrefix());
        }
        assertThat(addresses).hasSize(1);
        ServerBinding.Siderolink after = stored(uuid);
        assertThat(after.address()).isEqualTo(addresses.iterator().next());
        assertThat(keys).contains(after.publicKey());

        String last = ProvisionClient.newKey();
        assertThat(provision(uuid, last).getNodeAddressPrefix()).isEqualTo(after.address());
        assertThat(stored(uuid).publicKey()).isEqualTo(last);
    }

    @Test
    void refusesAMalformedPublicKeySayingWhatIsWrong(CapturedOutput output) {
        String uuid = uuid();
        createBinding(uuid, null);

        assertThatThrownBy(() -> provision(uuid, "bm90IGEga2V5"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("node_public_key").contains("decodes to 9 bytes");
                });
        assertThat(stored(uuid).publicKey()).isNull();
        assertRefusalLoggedOnce(output, uuid, "INVALID_ARGUMENT");
    }

    @Test
    void refusesAnInvalidUuidBeforeItReachesTheStore() {
        assertThatThrownBy(() -> provision("../../etc/passwd", ProvisionClient.newKey()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("node_uuid");
                });
    }

    @Test
    void refusesAMissingJoinTokenWithoutLoggingTheToken(CapturedOutput output) {
        String uuid = uuid();
        createBinding(uuid, null);

        assertThatThrownBy(() -> client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                    assertThat(e.getStatus().getDescription()).isEqualTo("invalid join token");
                });
        assertThat(stored(uuid).publicKey()).isNull();
        assertRefusalLoggedOnce(output, uuid, "PERMISSION_DENIED");
        assertThat(output.getAll()).contains("no join token").doesNotContain(TOKEN);
    }

    @Test
    void refusesAWrongJoinTokenWithoutLoggingEitherToken(CapturedOutput output) {
        String uuid = uuid();
        createBinding(uuid, null);
        String wrong = "guessed-token-123";

        assertThatThrownBy(() -> client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).setJoinToken(wrong).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
        assertRefusalLoggedOnce(output, uuid, "PERMISSION_DENIED");
        assertThat(output.getAll()).contains("wrong join token").doesNotContain(TOKEN).doesNotContain(wrong);
    }

    @Test
    void countsEveryOutcome() {
        double before = meters.counter(ProvisionMetrics.REQUESTS, "outcome", "ok").count();
        double deniedBefore = meters.counter(ProvisionMetrics.REQUESTS, "outcome", "permission_denied").count();
        String uuid = uuid();
        createBinding(uuid, null);
        provision(uuid, ProvisionClient.newKey());
        assertThatThrownBy(() -> client.provision(ProvisionClient.request(uuid, ProvisionClient.newKey()).build()));

        assertThat(meters.counter(ProvisionMetrics.REQUESTS, "outcome", "ok").count()).isEqualTo(before + 1);
        assertThat(meters.counter(ProvisionMetrics.REQUESTS, "outcome", "permission_denied").count()).isEqualTo(deniedBefore + 1);
    }

    static void assertRefusalLoggedOnce(CapturedOutput output, String uuid, String status) {
        String needle = "provision refused: node_uuid=\"" + uuid + "\"";
        List<String> lines = output.getAll().lines().filter(l -> l.contains(needle)).toList();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).contains("status=" + status).contains("peer=127.0.0.1:");
    }
}
