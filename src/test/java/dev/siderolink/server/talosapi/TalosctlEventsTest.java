package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.siderolink.server.history.RecordedEvent;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.testing.InMemoryEventHistory;
import dev.siderolink.server.testing.InMemoryResourceStore;
import dev.talos.api.machine.Event;
import dev.talos.api.machine.EventsRequest;
import dev.talos.api.machine.SequenceEvent;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code talosctl events} against the Talos API server over real TLS on a real port, with a client
 * that knows only what the generated talosconfig holds.
 */
class TalosctlEventsTest {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String UUID_A = "4c4c4544-0000-1000-8000-00000000000a";
    private static final String UUID_B = "4c4c4544-0000-1000-8000-00000000000b";
    private static final String ADDRESS_A = "fdae:41e4:649b:9303::a";
    private static final String ADDRESS_B = "fdae:41e4:649b:9303::b";

    private final Clock clock = Clock.systemUTC();
    private final Xid xids = new Xid(RANDOM);
    private final InMemoryResourceStore store = new InMemoryResourceStore();
    private final InMemoryEventHistory history = new InMemoryEventHistory();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private TalosPki.Issued ca;
    private TalosApiServer server;
    private RecordedEvent e1;
    private RecordedEvent e2;
    private RecordedEvent e3;
    private RecordedEvent e4;
    private RecordedEvent e5;

    @BeforeEach
    void start() {
        store.put(new ServerBinding(UUID_A, new ServerBinding.Siderolink(ADDRESS_A + "/64", "keyA"), null, null, null, List.of(), null, "talos-a"));
        store.put(new ServerBinding(UUID_B, new ServerBinding.Siderolink(ADDRESS_B + "/64", "keyB"), null, null, null, List.of(), null, "talos-b"));
        Instant now = clock.instant();
        e1 = event(UUID_A, now.minusSeconds(600), "", "boot");
        e2 = event(UUID_B, now.minusSeconds(300), "actor-1", "reboot");
        e3 = event(UUID_A, now.minusSeconds(120), "actor-1", "reboot");
        e4 = event(UUID_B, now.minusSeconds(20), "", "boot");
        e5 = event(UUID_A, now.minusSeconds(5), "", "install");
        for (RecordedEvent e : List.of(e1, e2, e3, e4, e5)) {
            history.remember(e);
        }
        ca = TalosPki.fromSecretData(store.loadOrCreateSecret(TalosPki.SECRET_NAME, () -> TalosPki.toSecretData(TalosPki.newCa("test", RANDOM, clock))).block());
        List<String> names = List.of("localhost", "127.0.0.1");
        server = new TalosApiServer(0, ca, TalosPki.serverCertificate(ca, names, RANDOM, clock),
                () -> new MachineEventsService(history, store, clock, xids, new TalosApiMetrics(registry)));
        server.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        server.stop();
    }

    private RecordedEvent event(String uuid, Instant at, String actor, String sequence) {
        byte[] payload = SequenceEvent.newBuilder().setSequence(sequence).setAction(SequenceEvent.Action.START).build().toByteArray();
        String node = uuid.equals(UUID_A) ? ADDRESS_A : ADDRESS_B;
        return new RecordedEvent(uuid, node, xids.next(at), actor, "type.googleapis.com/machine.SequenceEvent", payload, at);
    }

    private String talosconfig(List<String> names) {
        return new TalosApiIdentity(ca, names, server.boundPort(), "os:reader").talosconfig(List.of(), RANDOM, clock);
    }

    private TalosconfigClient client() throws Exception {
        return track(new TalosconfigClient(talosconfig(List.of("localhost"))));
    }

    private <T extends AutoCloseable> T track(T closeable) {
        closeables.add(0, closeable);
        return closeable;
    }

    private static EventsRequest tail(int n) {
        return EventsRequest.newBuilder().setTailEvents(n).build();
    }

    /** The events after the hello, up to a live marker event published now (so "nothing else" is checked too). */
    private List<String> historyThenMarker(TalosconfigClient.EventStream stream, String markerServer) throws InterruptedException {
        Event hello = stream.next();
        assertThat(hello.getData().getTypeUrl()).isEmpty();
        RecordedEvent marker = event(markerServer, clock.instant(), "", "marker");
        history.record(marker);
        List<String> ids = new ArrayList<>();
        for (Event e = stream.next(); !e.getId().equals(marker.id()); e = stream.next()) {
            ids.add(e.getId());
        }
        return ids;
    }

    @Test
    void firstMessageIsTheEmptyHelloEventWithAFreshIdAndTheRequestedActor() throws Exception {
        var stream = track(client().events(EventsRequest.newBuilder().setWithActorId("actor-9").build()));
        Event hello = stream.next();
        assertThat(hello.hasData()).isTrue();
        assertThat(hello.getData().getTypeUrl()).isEmpty();
        assertThat(hello.getData().getValue().isEmpty()).isTrue();
        assertThat(hello.getActorId()).isEqualTo("actor-9");
        assertThat(hello.hasMetadata()).isFalse();
        assertThatCode(() -> Xid.decode(hello.getId())).doesNotThrowAnyException();
        assertThat(Math.abs(Xid.epochSecond(hello.getId()) - clock.instant().getEpochSecond())).isLessThanOrEqualTo(2);
        // the bytes the spec gives: 12 00 1a 14 <xid>, data first
        assertThat(hello.toBuilder().clearActorId().build().toByteArray()).startsWith(0x12, 0x00, 0x1a, 0x14);
    }

    @Test
    void tailZeroSendsNoHistoryThenFollowsLiveEvents() throws Exception {
        var stream = track(client().events(tail(0)));
        assertThat(historyThenMarker(stream, UUID_A)).isEmpty();
        RecordedEvent later = event(UUID_B, clock.instant(), "", "later");
        history.record(later);
        assertThat(stream.next().getId()).isEqualTo(later.id());
    }

    @Test
    void tailNSendsTheLastNEvents() throws Exception {
        assertThat(historyThenMarker(track(client().events(tail(2))), UUID_A)).containsExactly(e4.id(), e5.id());
    }

    @Test
    void negativeTailSendsAllHistory() throws Exception {
        assertThat(historyThenMarker(track(client().events(tail(-1))), UUID_A)).containsExactly(e1.id(), e2.id(), e3.id(), e4.id(), e5.id());
    }

    @Test
    void tailIdSendsEventsAfterThatId() throws Exception {
        var stream = track(client().events(EventsRequest.newBuilder().setTailId(e2.id()).build()));
        assertThat(historyThenMarker(stream, UUID_A)).containsExactly(e3.id(), e4.id(), e5.id());
    }

    @Test
    void tailSecondsSendsEventsCreatedWithinThatManySeconds() throws Exception {
        var stream = track(client().events(EventsRequest.newBuilder().setTailSeconds(60).build()));
        assertThat(historyThenMarker(stream, UUID_A)).containsExactly(e4.id(), e5.id());
    }

    @Test
    void withActorIdFiltersHistoryAndLiveEvents() throws Exception {
        var stream = track(client().events(EventsRequest.newBuilder().setTailEvents(-1).setWithActorId("actor-1").build()));
        assertThat(stream.next().getActorId()).isEqualTo("actor-1");
        assertThat(stream.next().getId()).isEqualTo(e2.id());
        assertThat(stream.next().getId()).isEqualTo(e3.id());
        history.record(event(UUID_A, clock.instant(), "", "other"));
        RecordedEvent mine = event(UUID_A, clock.instant(), "actor-1", "mine");
        history.record(mine);
        assertThat(stream.next().getId()).isEqualTo(mine.id());
    }

    @Test
    void eventsKeepTheirIdActorAndPayloadWithTheTalosTypeUrl() throws Exception {
        var stream = track(client().events(tail(1)));
        stream.next();
        Event event = stream.next();
        assertThat(event.getId()).isEqualTo(e5.id());
        assertThat(event.getData().getTypeUrl()).isEqualTo("talos/runtime/machine.SequenceEvent");
        assertThat(event.getData().getValue().toByteArray()).isEqualTo(e5.payload());
        assertThat(event.getData().unpack(SequenceEvent.class).getSequence()).isEqualTo("install");
        assertThat(event.hasMetadata()).isFalse();
    }

    @Test
    void twoTailFieldsAreInvalid() throws Exception {
        var stream = client().events(EventsRequest.newBuilder().setTailEvents(3).setTailSeconds(10).build());
        assertThat(stream.end().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @ParameterizedTest
    @ValueSource(strings = {"not-an-id", "da42382a3cm000801auw", "DA42382A3CM000801AU0"})
    void unparsableTailIdIsInvalid(String tailId) throws Exception {
        var stream = client().events(EventsRequest.newBuilder().setTailId(tailId).build());
        assertThat(stream.end().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @ParameterizedTest
    @ValueSource(strings = {ADDRESS_A, "[" + ADDRESS_A + "]", "fdae:41e4:649b:9303:0:0:0:a", UUID_A, "talos-a"})
    void nodeSelectsOneServerByTunnelAddressUuidOrHostname(String node) throws Exception {
        var stream = track(client().events(tail(-1), "node", node));
        assertThat(historyThenMarker(stream, UUID_A)).containsExactly(e1.id(), e3.id(), e5.id());
    }

    @Test
    void liveEventsOfOtherServersAreNotSentToANodeStream() throws Exception {
        var stream = track(client().events(tail(0), "node", "talos-b"));
        stream.next();
        history.record(event(UUID_A, clock.instant(), "", "a"));
        RecordedEvent b = event(UUID_B, clock.instant(), "", "b");
        history.record(b);
        assertThat(stream.next().getId()).isEqualTo(b.id());
    }

    @Test
    void unknownNodeIsNotFound() throws Exception {
        assertThat(client().events(tail(-1), "node", "talos-z").end().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void twoNodeValuesAreInvalid() throws Exception {
        assertThat(client().events(tail(-1), "node", "talos-a", "talos-b").end().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @Test
    void nodesNamesEachEventsServerInMetadataHostname() throws Exception {
        var stream = track(client().events(tail(-1), "nodes", "talos-a", ADDRESS_B));
        stream.next();
        List<String> hostnames = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            hostnames.add(stream.next().getMetadata().getHostname());
        }
        assertThat(hostnames).containsExactly("talos-a", ADDRESS_B, "talos-a", ADDRESS_B, "talos-a");
    }

    @Test
    void theServerCertificateIsValidForAnIpEndpointToo() throws Exception {
        var stream = track(track(new TalosconfigClient(talosconfig(List.of("127.0.0.1")))).events(tail(1)));
        stream.next();
        assertThat(stream.next().getId()).isEqualTo(e5.id());
    }

    @Test
    void aClientWithoutCertificateIsRefused() throws Exception {
        var stream = track(new TalosconfigClient(talosconfig(List.of("localhost")), false)).events(tail(-1));
        assertThat(stream.end().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    }

    @Test
    void aClientCertificateFromAnotherCaIsRefused() throws Exception {
        TalosPki.Issued other = TalosPki.newCa("other", RANDOM, clock);
        // trusts our server (our CA) but presents a certificate the other CA signed
        String config = talosconfig(List.of("localhost"));
        String foreign = new TalosApiIdentity(other, List.of("localhost"), server.boundPort(), "os:admin").talosconfig(List.of(), RANDOM, clock);
        String mixed = config.replaceAll("(?m)^(\\s*)crt: .*$", java.util.regex.Matcher.quoteReplacement(line(foreign, "crt")))
                .replaceAll("(?m)^(\\s*)key: .*$", java.util.regex.Matcher.quoteReplacement(line(foreign, "key")));
        assertThat(mixed).isNotEqualTo(config);
        var stream = track(new TalosconfigClient(mixed)).events(tail(-1));
        assertThat(stream.end().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"os:reader", "os:admin", "os:operator"})
    void rolesThatMayReadAreServed(String role) throws Exception {
        String config = new TalosApiIdentity(ca, List.of("localhost"), server.boundPort(), role).talosconfig(List.of(), RANDOM, clock);
        var stream = track(track(new TalosconfigClient(config)).events(tail(1)));
        stream.next();
        assertThat(stream.next().getId()).isEqualTo(e5.id());
    }

    @Test
    void aCertificateOfTheCaWithoutAReadingRoleIsDenied() throws Exception {
        String config = new TalosApiIdentity(ca, List.of("localhost"), server.boundPort(), "os:etcd:backup").talosconfig(List.of(), RANDOM, clock);
        var stream = track(new TalosconfigClient(config)).events(tail(1));
        assertThat(stream.end().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    }

    private static String line(String yaml, String key) {
        return yaml.lines().filter(l -> l.trim().startsWith(key + ": ")).findFirst().orElseThrow();
    }

    @Test
    void aClientThatStopsReadingLosesLiveEventsButNeverSlowsTheSink() throws Exception {
        var stream = track(client().events(tail(0), 1));
        assertThat(stream.next().getData().getTypeUrl()).as("hello").isEmpty();
        byte[] payload = new byte[4096];
        List<RecordedEvent> published = new ArrayList<>();
        long started = System.nanoTime();
        for (int i = 0; i < 3000; i++) { // 12 MB: far more than the transport's windows and the 1024-event queue
            RecordedEvent e = new RecordedEvent(UUID_A, ADDRESS_A, xids.next(clock.instant()), "", "type.googleapis.com/machine.SequenceEvent",
                    payload, clock.instant());
            published.add(e);
            history.record(e);
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("publishing while a client does not read").isLessThan(Duration.ofSeconds(3));
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> registry.get(TalosApiMetrics.DROPPED).counter().count() > 0);
        stream.request(Integer.MAX_VALUE);
        assertThat(stream.next().getId()).as("the oldest waiting events are kept").isEqualTo(published.get(0).id());
        assertThat(stream.next().getId()).isEqualTo(published.get(1).id());
    }

    @Test
    void aStreamEndsOnTheServerWhenTheClientGoesAway() throws Exception {
        var stream = client().events(tail(0));
        stream.next();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> registry.get(TalosApiMetrics.STREAMS).gauge().value() == 1.0);
        assertThat(history.liveSubscribers()).isEqualTo(1);
        stream.close();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> registry.get(TalosApiMetrics.STREAMS).gauge().value() == 0.0);
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> history.liveSubscribers() == 0);
    }
}
