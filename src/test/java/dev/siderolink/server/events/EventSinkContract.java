package dev.siderolink.server.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.testing.DummyInterface;
import dev.siderolink.server.testing.NodeChannels;
import dev.talos.api.common.Code;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.ConfigLoadErrorEvent;
import dev.talos.api.machine.ConfigValidationErrorEvent;
import dev.talos.api.machine.MachineStatusEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.RestartEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.ServiceStateEvent;
import dev.talos.api.machine.TaskEvent;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * What a Talos node publishing events gets, in every store: a real gRPC channel from the node's
 * tunnel address (held by a test interface) to the sink on the server's tunnel address, the event
 * stream read from its output file, and the ServerBinding and MetalMachine read back from the
 * store's backing (API server or files). The negative address filter is {@value #FILTERED}.
 */
@EnabledIf(value = "dev.siderolink.server.testing.DummyInterface#available", disabledReason = "needs root and iproute2 to add test addresses")
abstract class EventSinkContract {

    static final String FILTERED = "10.5.0.0/16";
    static final ObjectMapper JSON = new ObjectMapper();
    private static final AtomicInteger NODES = new AtomicInteger(0x100);
    static DummyInterface addresses;

    @Autowired InstallationIdentity identity;
    @Autowired EventSinkServer sink;
    @Autowired ResourceStore store;
    @Autowired MeterRegistry meters;

    final List<ManagedChannel> channels = new ArrayList<>();

    /** A binding for {@code uuid} holding {@code address}/64, pointing at MetalMachine default/{@code metalMachine} (none when null). */
    abstract void createBinding(String uuid, InetAddress address, String metalMachine);

    abstract void createMetalMachine(String name);

    /** Conditions, addresses and hostname as stored (not the cache). */
    abstract NodeReport storedReport(String uuid);

    abstract MetalMachineStatus storedMetalMachine(String name);

    /** Makes the next writes of binding {@code uuid} fail as the store fails (API down, broken file); {@link #healStore} undoes it. */
    abstract void breakStore(String uuid);

    abstract void healStore(String uuid);

    abstract Path output();

    @BeforeEach
    void addresses() throws Exception {
        if (addresses == null) {
            addresses = new DummyInterface().add(identity.network().serverAddress().toInetAddress());
        }
    }

    @AfterEach
    void closeChannels() throws InterruptedException {
        for (ManagedChannel c : channels) {
            c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @AfterAll
    static void removeAddresses() {
        if (addresses != null) {
            addresses.close();
            addresses = null;
        }
    }

    // ---- a node ----

    InetAddress newNode() throws Exception {
        String server = identity.network().serverAddress().toCompressedString();
        InetAddress node = InetAddress.getByName(server.substring(0, server.length() - 1) + Integer.toHexString(NODES.incrementAndGet()));
        addresses.add(node);
        return node;
    }

    /** A stub whose calls come from {@code node}, as a Talos node's do through its tunnel. */
    EventSinkServiceGrpc.EventSinkServiceBlockingStub from(InetAddress node) {
        ManagedChannel channel = NodeChannels.from(node, new InetSocketAddress(identity.network().serverAddress().toInetAddress(), sink.boundPort()));
        channels.add(channel);
        return EventSinkServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
    }

    static String id() {
        // xid-shaped: 20 base32hex characters; unique per call
        return (UUID.randomUUID().toString().replace("-", "").substring(0, 20)).toLowerCase();
    }

    static EventRequest request(String id, Message payload) {
        return EventRequest.newBuilder().setId(id).setData(Any.pack(payload, "type.googleapis.com")).build();
    }

    static SequenceEvent sequence(String name, SequenceEvent.Action action) {
        return SequenceEvent.newBuilder().setSequence(name).setAction(action).build();
    }

    static SequenceEvent fatal(String name, String message) {
        return SequenceEvent.newBuilder().setSequence(name).setAction(SequenceEvent.Action.NOOP)
                .setError(dev.talos.api.common.Error.newBuilder().setCode(Code.FATAL).setMessage(message)).build();
    }

    static PhaseEvent phase(String name, PhaseEvent.Action action) {
        return PhaseEvent.newBuilder().setPhase(name).setAction(action).build();
    }

    record Bound(String uuid, InetAddress node, EventSinkServiceGrpc.EventSinkServiceBlockingStub stub) {}

    Bound bound(boolean withMetalMachine) throws Exception {
        String uuid = UUID.randomUUID().toString();
        InetAddress node = newNode();
        String metalMachine = "mm-" + uuid.substring(0, 8);
        if (withMetalMachine) {
            createMetalMachine(metalMachine);
        }
        createBinding(uuid, node, metalMachine);
        return new Bound(uuid, node, from(node));
    }

    // ---- reading the results ----

    List<JsonNode> lines(String uuidOrNode) throws Exception {
        List<JsonNode> result = new ArrayList<>();
        if (!Files.exists(output())) {
            return result;
        }
        for (String line : Files.readAllLines(output())) {
            JsonNode json = JSON.readTree(line);
            if (uuidOrNode.equals(json.path("server_uuid").asText()) || json.path("node").asText().contains(uuidOrNode)) {
                result.add(json);
            }
        }
        return result;
    }

    JsonNode line(String uuid, String id) throws Exception {
        Awaitility.await("event line " + id).atMost(Duration.ofSeconds(10)).until(() -> lines(uuid).stream().anyMatch(l -> id.equals(l.path("id").asText())));
        return lines(uuid).stream().filter(l -> id.equals(l.path("id").asText())).findFirst().orElseThrow();
    }

    static Condition condition(List<Condition> conditions, String type) {
        return Condition.find(conditions, type);
    }

    double counter(String name, String... tags) {
        var c = meters.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    // ---- the contract ----

    @Test
    void everyPayloadTypeIsAnsweredOkAndPrintedWithItsFields() throws Exception {
        Bound n = bound(true);
        List<Message> payloads = List.of(
                sequence("initialize", SequenceEvent.Action.START),
                phase("config", PhaseEvent.Action.STOP),
                TaskEvent.newBuilder().setTask("runningMaintenance").setAction(TaskEvent.Action.START).build(),
                ServiceStateEvent.newBuilder().setService("etcd").setAction(ServiceStateEvent.Action.RUNNING).setMessage("Health check successful")
                        .setHealth(dev.talos.api.machine.ServiceHealth.newBuilder().setHealthy(true)).build(),
                ConfigLoadErrorEvent.newBuilder().setError("failed to load config").build(),
                ConfigValidationErrorEvent.newBuilder().setError("invalid cluster name").build(),
                AddressEvent.newBuilder().setHostname("talos-1").addAddresses("192.168.1.20").build(),
                MachineStatusEvent.newBuilder().setStage(MachineStatusEvent.MachineStage.RUNNING)
                        .setStatus(MachineStatusEvent.MachineStatus.newBuilder().setReady(false)
                                .addUnmetConditions(MachineStatusEvent.MachineStatus.UnmetCondition.newBuilder().setName("nodeReady").setReason("node not ready")))
                        .build(),
                RestartEvent.newBuilder().setCmd(19088743).build());
        List<String> ids = new ArrayList<>();
        for (Message payload : payloads) {
            String id = id();
            ids.add(id);
            n.stub().publish(request(id, payload));
        }
        String node = "[" + new inet.ipaddr.IPAddressString(n.node().getHostAddress()).getAddress().toCompressedString() + "]:";
        for (int i = 0; i < payloads.size(); i++) {
            JsonNode line = line(n.uuid(), ids.get(i));
            assertThat(line.get("component").asText()).isEqualTo("sink");
            assertThat(line.get("node").asText()).startsWith(node);
            assertThat(line.get("type").asText()).isEqualTo("type.googleapis.com/" + payloads.get(i).getDescriptorForType().getFullName());
            assertThat(line.get("ts").isNumber()).isTrue();
            assertThat(line.get("server_uuid").asText()).isEqualTo(n.uuid());
            assertThat(line.get("namespace").asText()).isEqualTo("default");
            assertThat(line.get("metal_machine").asText()).startsWith("mm-");
        }
        assertThat(line(n.uuid(), ids.get(0)).get("sequence").asText()).isEqualTo("initialize");
        assertThat(line(n.uuid(), ids.get(0)).get("action").asText()).isEqualTo("START");
        assertThat(line(n.uuid(), ids.get(1)).get("phase").asText()).isEqualTo("config");
        assertThat(line(n.uuid(), ids.get(2)).get("task").asText()).isEqualTo("runningMaintenance");
        assertThat(line(n.uuid(), ids.get(3)).get("msg").asText()).isEqualTo("service Health check successful");
        assertThat(line(n.uuid(), ids.get(3)).get("service").asText()).isEqualTo("etcd");
        assertThat(line(n.uuid(), ids.get(4)).get("error").asText()).isEqualTo("failed to load config");
        assertThat(line(n.uuid(), ids.get(5)).get("error").asText()).isEqualTo("invalid cluster name");
        assertThat(line(n.uuid(), ids.get(6)).get("hostname").asText()).isEqualTo("talos-1");
        assertThat(line(n.uuid(), ids.get(6)).get("addresses").get(0).asText()).isEqualTo("192.168.1.20");
        assertThat(line(n.uuid(), ids.get(7)).get("stage").asText()).isEqualTo("RUNNING");
        assertThat(line(n.uuid(), ids.get(8)).get("cmd").asLong()).isEqualTo(19088743);
        assertThat(line(n.uuid(), ids.get(0)).get("msg").asText()).isEqualTo("incoming event");
        assertThat(line(n.uuid(), ids.get(0)).get("level").asText()).isEqualTo("info");
    }

    @Test
    void theSpecsByteVectorIsABootStartThatMarksEverythingTrue() throws Exception {
        Bound n = bound(true);
        byte[] vector = HexFormat.of().parseHex("0a350a29747970652e676f6f676c65617069732e636f6d2f6d616368696e652e53657175656e63654576656e74"
                + "12080a04626f6f7410011214646134323338326133636d303030383031617530");
        n.stub().publish(EventRequest.parseFrom(vector));
        JsonNode line = line(n.uuid(), "da42382a3cm000801au0");
        assertThat(line.get("sequence").asText()).isEqualTo("boot");
        assertThat(line.get("action").asText()).isEqualTo("START");
        NodeReport report = storedReport(n.uuid());
        for (String type : List.of(StatusRules.INSTALLED, StatusRules.CONFIG_VALIDATED, StatusRules.CONFIG_LOADED)) {
            assertThat(condition(report.conditions(), type).status()).as(type).isEqualTo(Condition.TRUE);
        }
    }

    @Test
    void aFullInstallGoesFromInProgressToInstalledOnBindingAndMetalMachine() throws Exception {
        Bound n = bound(true);
        n.stub().publish(request(id(), sequence("install", SequenceEvent.Action.START)));
        n.stub().publish(request(id(), phase("install", PhaseEvent.Action.START)));
        Condition inProgress = condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED);
        assertThat(inProgress).extracting(Condition::status, Condition::reason, Condition::severity)
                .containsExactly(Condition.FALSE, "TalosInstallationInProgress", "Info");
        assertThat(condition(storedMetalMachine("mm-" + n.uuid().substring(0, 8)).conditions(), StatusRules.INSTALLED).reason())
                .isEqualTo("TalosInstallationInProgress");

        n.stub().publish(request(id(), fatal("install", "sequence failed: error running phase 4 in install sequence: task 1/1: failed, unix.Reboot")));
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED).status()).isEqualTo(Condition.TRUE);
        n.stub().publish(request(id(), sequence("boot", SequenceEvent.Action.START)));
        NodeReport report = storedReport(n.uuid());
        MetalMachineStatus metalMachine = storedMetalMachine("mm-" + n.uuid().substring(0, 8));
        for (String type : List.of(StatusRules.INSTALLED, StatusRules.CONFIG_VALIDATED, StatusRules.CONFIG_LOADED)) {
            assertThat(condition(report.conditions(), type).status()).as(type).isEqualTo(Condition.TRUE);
            assertThat(condition(report.conditions(), type).severity()).as(type).isNull();
            assertThat(condition(metalMachine.conditions(), type)).as("mirrored " + type).isEqualTo(condition(report.conditions(), type));
            assertThat(condition(report.conditions(), type).lastTransitionTime()).isNotNull();
        }
    }

    @Test
    void aFailedInstallIsAnErrorWithTheInstallersMessage() throws Exception {
        Bound n = bound(true);
        JsonNode line;
        String id = id();
        n.stub().publish(request(id, fatal("install", "sequence failed: failed to find the install disk")));
        Condition installed = condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED);
        assertThat(installed).extracting(Condition::status, Condition::reason, Condition::severity, Condition::message)
                .containsExactly(Condition.FALSE, "TalosInstallationFailed", "Error", "sequence failed: failed to find the install disk");
        line = line(n.uuid(), id);
        assertThat(line.get("level").asText()).isEqualTo("error");
        assertThat(line.get("error").asText()).isEqualTo("sequence failed: failed to find the install disk");
    }

    @Test
    void configLoadAndValidationErrorsBecomeErrorConditions() throws Exception {
        Bound n = bound(true);
        n.stub().publish(request(id(), ConfigLoadErrorEvent.newBuilder().setError("no config at http://x").build()));
        n.stub().publish(request(id(), ConfigValidationErrorEvent.newBuilder().setError("cluster name is required").build()));
        NodeReport report = storedReport(n.uuid());
        assertThat(condition(report.conditions(), StatusRules.CONFIG_LOADED))
                .extracting(Condition::status, Condition::reason, Condition::severity, Condition::message)
                .containsExactly(Condition.FALSE, "TalosConfigLoadFailed", "Error", "no config at http://x");
        assertThat(condition(report.conditions(), StatusRules.CONFIG_VALIDATED))
                .extracting(Condition::status, Condition::reason, Condition::severity, Condition::message)
                .containsExactly(Condition.FALSE, "TalosConfigValidationFailed", "Error", "cluster name is required");
        // saveConfig START (older Talos) marks both valid and loaded again
        n.stub().publish(request(id(), phase("saveConfig", PhaseEvent.Action.START)));
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.CONFIG_LOADED).status()).isEqualTo(Condition.TRUE);
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.CONFIG_VALIDATED).status()).isEqualTo(Condition.TRUE);
    }

    @Test
    void addressesLoseTheSideroLinkAddressUnparsableOnesAndFilteredPrefixes() throws Exception {
        Bound n = bound(true);
        n.stub().publish(request(id(), AddressEvent.newBuilder().setHostname("talos-cp-1")
                .addAddresses("192.168.10.5").addAddresses(n.node().getHostAddress()).addAddresses("10.5.3.4").addAddresses("not-an-ip")
                .addAddresses("fd00:1::5").addAddresses("10.6.0.1").build()));
        NodeReport report = storedReport(n.uuid());
        assertThat(report.addresses()).containsExactly("192.168.10.5", "fd00:1::5", "10.6.0.1");
        assertThat(report.hostname()).isEqualTo("talos-cp-1");
        assertThat(storedMetalMachine("mm-" + n.uuid().substring(0, 8)).addresses()).containsExactly(
                new MetalMachineStatus.Address("InternalIP", "192.168.10.5"),
                new MetalMachineStatus.Address("InternalIP", "fd00:1::5"),
                new MetalMachineStatus.Address("InternalIP", "10.6.0.1"),
                new MetalMachineStatus.Address("Hostname", "talos-cp-1"));
    }

    @Test
    void unknownTypesAndGarbageAreAnsweredOkSoTheNodeIsNeverBlocked() throws Exception {
        Bound n = bound(true);
        double unknown = counter(EventMetrics.FAILURES, "reason", "unknown-type");
        double undecodable = counter(EventMetrics.FAILURES, "reason", "undecodable");
        n.stub().publish(EventRequest.newBuilder().setId(id())
                .setData(Any.newBuilder().setTypeUrl("type.googleapis.com/machine.EventFromTheFuture").setValue(ByteString.copyFromUtf8("x"))).build());
        n.stub().publish(EventRequest.newBuilder().setId(id())
                .setData(Any.newBuilder().setTypeUrl("type.googleapis.com/machine.SequenceEvent").setValue(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x13, 0x07}))).build());
        assertThat(counter(EventMetrics.FAILURES, "reason", "unknown-type")).isEqualTo(unknown + 1);
        assertThat(counter(EventMetrics.FAILURES, "reason", "undecodable")).isEqualTo(undecodable + 1);
        // and the node's next event is handled normally
        n.stub().publish(request(id(), sequence("boot", SequenceEvent.Action.START)));
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED).status()).isEqualTo(Condition.TRUE);
        Awaitility.await("3 lines").atMost(Duration.ofSeconds(10)).until(() -> lines(n.uuid()).size() >= 3);
        assertThat(lines(n.uuid())).extracting(l -> l.get("level").asText()).containsExactly("warn", "warn", "info");
    }

    @Test
    void aReplayedEventIsRecognisedAndNotAppliedTwice() throws Exception {
        Bound n = bound(true);
        String id = id();
        n.stub().publish(request(id, phase("install", PhaseEvent.Action.START)));
        n.stub().publish(request(id(), sequence("boot", SequenceEvent.Action.START)));
        double replays = counter(EventMetrics.REPLAYS);
        // the answer to the first one was lost: Talos sends it again; applying it again would undo "installed"
        n.stub().publish(request(id, phase("install", PhaseEvent.Action.START)));
        assertThat(counter(EventMetrics.REPLAYS)).isEqualTo(replays + 1);
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED).status()).isEqualTo(Condition.TRUE);
        assertThat(lines(n.uuid()).stream().filter(l -> id.equals(l.get("id").asText()))).hasSize(1);
    }

    @Test
    void aBurstForOneServerIsCoalescedAndEndsInTheRightState() throws Exception {
        Bound n = bound(true);
        double updates = counter(EventMetrics.STATUS_UPDATES);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> calls = new ArrayList<>();
            for (int i = 0; i < 99; i++) {
                String host = "burst-" + i;
                calls.add(pool.submit(() -> n.stub().publish(request(id(), AddressEvent.newBuilder().setHostname(host).addAddresses("192.0.2.7").build()))));
            }
            for (Future<?> call : calls) {
                call.get();
            }
        } finally {
            pool.shutdownNow();
        }
        n.stub().publish(request(id(), AddressEvent.newBuilder().setHostname("final").addAddresses("192.0.2.8").build()));
        double used = counter(EventMetrics.STATUS_UPDATES) - updates;
        assertThat(used).as("status updates for 100 events").isLessThan(60);
        NodeReport report = storedReport(n.uuid());
        assertThat(report.hostname()).isEqualTo("final");
        assertThat(report.addresses()).containsExactly("192.0.2.8");
        Awaitility.await("100 lines").atMost(Duration.ofSeconds(10)).until(() -> lines(n.uuid()).size() >= 100);
        assertThat(lines(n.uuid())).hasSize(100);
    }

    @Test
    void aFailingStoreAnswersUnavailableAndTheReplayLaterAppliesOnce() throws Exception {
        Bound n = bound(true);
        String id = id();
        breakStore(n.uuid());
        try {
            assertThatThrownBy(() -> n.stub().publish(request(id, sequence("boot", SequenceEvent.Action.START))))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
            assertThat(lines(n.uuid())).as("not printed until applied").isEmpty();
        } finally {
            healStore(n.uuid());
        }
        Awaitility.await("replay succeeds").atMost(Duration.ofSeconds(20)).ignoreExceptions()
                .until(() -> n.stub().publish(request(id, sequence("boot", SequenceEvent.Action.START))) != null);
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED).status()).isEqualTo(Condition.TRUE);
        Awaitility.await("the line").atMost(Duration.ofSeconds(10)).until(() -> lines(n.uuid()).size() >= 1);
        Thread.sleep(200);
        assertThat(lines(n.uuid())).as("printed once").hasSize(1);
    }

    @Test
    void aNodeWithoutBindingIsToldToComeBackForStatusButItsOtherEventsArePrinted() throws Exception {
        InetAddress node = newNode();
        var stub = from(node);
        assertThatThrownBy(() -> stub.publish(request(id(), sequence("boot", SequenceEvent.Action.START))))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        String id = id();
        stub.publish(request(id, TaskEvent.newBuilder().setTask("startEverything").build()));
        String host = new inet.ipaddr.IPAddressString(node.getHostAddress()).getAddress().toCompressedString();
        JsonNode line = line(host, id);
        assertThat(line.has("server_uuid")).isFalse();
        assertThat(line.get("task").asText()).isEqualTo("startEverything");
    }

    @Test
    void aBindingWithoutMetalMachineIsStillUpdated() throws Exception {
        Bound n = bound(false);
        double missing = counter(EventMetrics.FAILURES, "reason", "metalmachine-not-found");
        n.stub().publish(request(id(), sequence("boot", SequenceEvent.Action.START)));
        assertThat(condition(storedReport(n.uuid()).conditions(), StatusRules.INSTALLED).status()).isEqualTo(Condition.TRUE);
        assertThat(counter(EventMetrics.FAILURES, "reason", "metalmachine-not-found")).isEqualTo(missing + 1);
    }
}
