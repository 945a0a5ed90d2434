package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.NodeChannels;
import dev.siderolink.server.testing.RunningServer;
import dev.talos.api.machine.Event;
import dev.talos.api.machine.EventsRequest;
import dev.talos.api.machine.SequenceEvent;
import io.grpc.ManagedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole way: a node publishes through the event sink (real gRPC from its tunnel address), and
 * a talosctl stand-in that knows only the talosconfig the server handed out, following that node
 * by its hostname, gets the event with the node's id, type and bytes.
 */
@EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "sending from a tunnel address needs root (CI runs as root)")
class TalosctlFromTheSinkTest {

    @TempDir
    Path dir;

    @Test
    void anEventANodePublishesReachesTalosctlAsTheNodeSentIt() throws Exception {
        try (RunningServer server = RunningServer.start(List.of(),
                "--siderolink.components=serverevents",
                "--siderolink.standalone.dir=" + dir.resolve("state"),
                "--siderolink.standalone.rescan-interval=200ms",
                "--siderolink.events.port=0",
                "--siderolink.events.output=" + dir.resolve("events.jsonl"),
                "--siderolink.wireguard.endpoint=localhost",
                "--siderolink.talos-api.names=127.0.0.1",
                "--siderolink.talos-api.talosconfig-endpoint.enabled=true");
             DummyInterface addresses = new DummyInterface()) {
            InstallationIdentity identity = server.bean(InstallationIdentity.class);
            InetAddress serverAddress = identity.network().serverAddress().withoutPrefixLength().toInetAddress();
            String text = identity.network().serverAddress().withoutPrefixLength().toCompressedString();
            InetAddress node = InetAddress.getByName(text.substring(0, text.length() - 1) + "abc");
            addresses.add(serverAddress).add(node);
            String uuid = UUID.randomUUID().toString();
            Path binding = dir.resolve("state/serverbindings/" + uuid + ".yaml");
            Files.writeString(binding, "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3\nkind: ServerBinding\nmetadata:\n  name: " + uuid
                    + "\nspec:\n  siderolink: {address: \"" + node.getHostAddress().replaceAll("%.*", "")
                    + "/64\", publicKey: \"ze3mghJ7ABkWOhrfQukVRjEvMIHvPSF3E1W1VzApD1U=\"}\n  hostname: talos-abc\n");
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.bean(ResourceStore.class).binding(uuid).isPresent());
            String talosconfig = server.http.get().uri("/api/v1/talosconfig").exchange().expectStatus().isOk()
                    .expectBody(String.class).returnResult().getResponseBody();
            String grpc = (String) RunningServer.details(server.health("", 200), "serverevents").get("grpc");
            int sinkPort = Integer.parseInt(grpc.substring(grpc.lastIndexOf(':') + 1));
            SequenceEvent payload = SequenceEvent.newBuilder().setSequence("install").setAction(SequenceEvent.Action.START).build();
            String id = "d4k3n5m2rr1s73c0ffee";

            try (TalosconfigClient talosctl = new TalosconfigClient(talosconfig)) {
                // talosctl -n talos-abc events (no tail: live events only, after the hello)
                TalosconfigClient.EventStream stream = talosctl.events(EventsRequest.newBuilder().build(), "node", "talos-abc");
                assertThat(stream.next().getData().getTypeUrl()).as("the hello event").isEmpty();

                ManagedChannel channel = NodeChannels.from(node, new InetSocketAddress(serverAddress, sinkPort));
                try {
                    EventSinkServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS).publish(EventRequest.newBuilder()
                            .setId(id).setActorId("actor-7").setData(Any.pack(payload, "talos/runtime")).build());
                } finally {
                    channel.shutdownNow();
                }

                Event event = stream.next();
                assertThat(event.getId()).isEqualTo(id);
                assertThat(event.getActorId()).isEqualTo("actor-7");
                assertThat(event.getData().getTypeUrl()).isEqualTo("talos/runtime/machine.SequenceEvent");
                assertThat(SequenceEvent.parseFrom(event.getData().getValue())).isEqualTo(payload);
                stream.close();
            }
        }
    }
}
