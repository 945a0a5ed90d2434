package dev.siderolink.server.startup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.server.testing.ProvisionClient;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server as a user meets it: started as its own process on its defaults it answers Provision
 * and keeps stdout for the streams; a wrong configuration ends start-up with a sentence saying
 * what to fix, not a stack trace.
 */
class StartupTest {

    @TempDir Path work;

    @Test
    void startsOnItsStandaloneDefaultWithNoClusterAndAnswersProvision() throws Exception {
        int grpc = ServerProcess.freePort();
        // the real link component: a WireGuard interface of its own (root, wireguard-go: CI has both)
        String iface = "slst" + Long.toHexString(System.nanoTime() & 0xffffff);
        try (ServerProcess server = ServerProcess.start(work, "--siderolink.api.port=" + grpc, "--server.port=" + ServerProcess.freePort(),
                        "--siderolink.wireguard.interface=" + iface, "--siderolink.wireguard.port=" + ServerProcess.freePort());
                ProvisionClient client = new ProvisionClient("127.0.0.1", grpc)) {
            ProvisionResponse response = provisionWhenUp(server, client);
            assertThat(response.getNodeAddressPrefix()).endsWith("/64");
            assertThat(Files.exists(work.resolve("var/siderolink/secret-siderolink.yaml"))).isTrue();
            assertThat(Files.list(work.resolve("var/siderolink/serverbindings"))).hasSize(1);
            assertThat(server.stderr()).contains("SideroLink installation: network fd");
            assertThat(server.stdout()).as("stdout is reserved for the log and event streams").isEmpty();
            assertThat(new ProcessBuilder("ip", "link", "show", "dev", iface).start().waitFor()).as("interface up while running").isZero();
        }
        assertThat(new ProcessBuilder("ip", "link", "show", "dev", iface).start().waitFor()).as("interface removed on shutdown").isNotZero();
    }

    private static ProvisionResponse provisionWhenUp(ServerProcess server, ProvisionClient client) throws Exception {
        long deadline = System.currentTimeMillis() + 90_000;
        while (true) {
            try {
                return client.provision(ProvisionClient.request(UUID.randomUUID().toString(), ProvisionClient.newKey()).build());
            } catch (StatusRuntimeException e) {
                if (!server.process.isAlive()) {
                    throw new AssertionError("server exited: " + server.stderr());
                }
                if (System.currentTimeMillis() > deadline) {
                    throw e;
                }
                Thread.sleep(250);
            }
        }
    }

    @Test
    void kubernetesStoreWithoutEndpointSaysWhichPropertyToSet() throws Exception {
        String err = failedStart("--siderolink.store=kubernetes");
        assertThat(err).contains("siderolink.wireguard.endpoint is not set").contains("SIDEROLINK_WIREGUARD_ENDPOINT");
    }

    @Test
    void unusableStateDirectoryIsNamedWithWhatToDo() throws Exception {
        Path file = Files.writeString(work.resolve("not-a-directory"), "x");
        String err = failedStart("--siderolink.standalone.dir=" + file.resolve("state"));
        assertThat(err).contains("cannot use the standalone state directory " + file.resolve("state"))
                .contains("siderolink.standalone.dir");
    }

    @Test
    void provisionPortInUseNamesThePortAndTheProperty() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"))) {
            String err = failedStart("--siderolink.api.port=" + taken.getLocalPort());
            assertThat(err).contains("Port " + taken.getLocalPort() + " (siderolink.api.port, the Provision API) cannot be bound").contains("Address already in use");
        }
    }

    @Test
    void outOfRangeValueIsReportedWithThePropertyName() throws Exception {
        String err = failedStart("--siderolink.wireguard.port=70000");
        assertThat(err).contains("siderolink.wireguard.port").contains("65535");
    }

    /** Starts a server that must fail; returns its stderr after checking the shape of the report. */
    private String failedStart(String... args) throws IOException, InterruptedException {
        // Spring joins repeated --key=value arguments with commas: add defaults only for keys not given
        java.util.Map<String, String> options = new java.util.LinkedHashMap<>();
        options.put("server.port", String.valueOf(ServerProcess.freePort()));
        options.put("siderolink.standalone.dir", work.resolve("state").toString());
        options.put("siderolink.api.port", String.valueOf(ServerProcess.freePort()));
        for (String arg : args) {
            String[] kv = arg.substring(2).split("=", 2);
            options.put(kv[0], kv[1]);
        }
        String[] argv = options.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        try (ServerProcess server = ServerProcess.start(work, argv)) {
            assertThat(server.awaitExit(90)).isNotZero();
            String err = server.stderr();
            assertThat(err).contains("APPLICATION FAILED TO START");
            assertThat(err.lines().filter(l -> l.matches("\\s+at [\\w.$]+\\(.*")).count()).as("stack frames in:%n%s", err).isZero();
            assertThat(server.stdout()).isEmpty();
            return err;
        }
    }
}
