package dev.siderolink.server.logs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.server.SiderolinkServerApplication;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.testing.DummyInterface;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.util.unit.DataSize;

/** The serverlogs component on its own, as the chart's serverlogs container runs it. */
class ServerLogsApplicationTest {

    @TempDir
    Path dir;

    @Test
    @EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "needs root and iproute2 to add test addresses")
    void serverlogsAloneListensOnTheTunnelAddressBeforeItExistsAndWritesTheStream() throws Exception {
        Path output = dir.resolve("out/serverlogs.jsonl");
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(SiderolinkServerApplication.class).run(
                "--siderolink.components=serverlogs",
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.logs.port=0",
                "--siderolink.logs.output=" + output,
                "--server.port=0")) {
            InetAddress server = app.getBean(InstallationIdentity.class).network().serverAddress().toInetAddress();
            TcpLogReceiver tcp = app.getBean(TcpLogReceiver.class);
            // bound to the tunnel address although no interface holds it (the link container adds it later)
            assertThat(tcp.boundAddress().getAddress()).isEqualTo(server);
            assertThat(app.getBean(UdpLogReceiver.class).boundAddress().getAddress()).isEqualTo(server);
            String health = http(app, "/actuator/health");
            assertThat(health).contains("\"serverlogs\":{\"status\":\"UP\"");

            try (DummyInterface addresses = new DummyInterface()) {
                InetAddress node = InetAddress.getByName(server.getHostAddress().replaceAll(":1$", ":abc"));
                addresses.add(server).add(node);
                try (Socket socket = new Socket()) {
                    socket.bind(new InetSocketAddress(node, 0));
                    socket.connect(tcp.boundAddress(), 5000);
                    OutputStream out = socket.getOutputStream();
                    out.write("{\"seq\":2,\"msg\":\"hello\"}\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    Awaitility.await().atMost(Duration.ofSeconds(10))
                            .until(() -> Files.exists(output) && Files.readString(output).equals("{\"msg\":\"hello\",\"seq\":2}\n"));
                }
            }
            assertThat(http(app, "/actuator/prometheus")).contains("siderolink_logs_written_total{transport=\"tcp\"} 1.0");
        }
    }

    @Test
    void nonsenseSizesAreRefusedWithTheirPropertyNamed() {
        assertThatThrownBy(() -> new LogsProperties(4001, "stdout", DataSize.ofMegabytes(10), DataSize.ofMegabytes(8), DataSize.ofMegabytes(16), true))
                .hasMessageContaining("siderolink.logs.max-message-size must be between 1KB and 1MB");
        assertThatThrownBy(() -> new LogsProperties(4001, "stdout", DataSize.ofKilobytes(64), DataSize.ofMegabytes(8), DataSize.ofKilobytes(100), true))
                .hasMessageContaining("siderolink.logs.output-buffer");
        assertThatThrownBy(() -> new LogsProperties(4001, "stdout", DataSize.ofKilobytes(64), DataSize.ofKilobytes(1), DataSize.ofMegabytes(16), true))
                .hasMessageContaining("siderolink.logs.udp-receive-buffer");
    }

    private static String http(ConfigurableApplicationContext app, String path) throws Exception {
        String port = app.getEnvironment().getProperty("local.server.port");
        return HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
