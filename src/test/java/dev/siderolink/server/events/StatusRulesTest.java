package dev.siderolink.server.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.NodeReport;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.TaskEvent;
import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusRulesTest {

    private static final IPAddress TUNNEL = new IPAddressString("fdae:2859:5bb1:7a03::abcd").getAddress();
    private final StatusRules rules = new StatusRules(List.of(new IPAddressString("10.0.0.0/8").getAddress().toPrefixBlock(),
            new IPAddressString("fd00::/8").getAddress().toPrefixBlock()));
    private final Instant t0 = Instant.parse("2026-11-26T10:00:00Z");
    private final Instant t1 = Instant.parse("2026-11-26T10:05:00Z");

    private static TalosEvent event(Message payload) {
        return TalosEvent.decode(EventRequest.newBuilder().setId("x").setData(Any.pack(payload, "type.googleapis.com")).build());
    }

    private static final NodeReport EMPTY = new NodeReport(List.of(), null, null);

    @Test
    void applyingAnEventTwiceChangesNothingTheSecondTime() {
        TalosEvent install = event(PhaseEvent.newBuilder().setPhase("install").build());
        NodeReport once = rules.apply(EMPTY, install, TUNNEL, t0);
        assertThat(rules.apply(once, install, TUNNEL, t1)).isSameAs(once);
    }

    @Test
    void lastTransitionTimeMovesOnlyWhenStatusChanges() {
        NodeReport failed = rules.apply(EMPTY, event(SequenceEvent.newBuilder().setSequence("install").setAction(SequenceEvent.Action.NOOP)
                .setError(dev.talos.api.common.Error.newBuilder().setMessage("disk")).build()), TUNNEL, t0);
        NodeReport inProgress = rules.apply(failed, event(PhaseEvent.newBuilder().setPhase("install").build()), TUNNEL, t1);
        Condition c = Condition.find(inProgress.conditions(), StatusRules.INSTALLED);
        assertThat(c.reason()).isEqualTo("TalosInstallationInProgress");
        assertThat(c.lastTransitionTime()).as("False to False: same transition").isEqualTo("2026-11-26T10:00:00Z");
        NodeReport booted = rules.apply(inProgress, event(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build()), TUNNEL, t1);
        assertThat(Condition.find(booted.conditions(), StatusRules.INSTALLED).lastTransitionTime()).isEqualTo("2026-11-26T10:05:00Z");
        assertThat(Condition.find(booted.conditions(), StatusRules.INSTALLED).severity()).isNull();
    }

    @Test
    void otherConditionsOfTheBindingAreKept() {
        Condition connected = new Condition("SideroLinkConnected", Condition.TRUE, null, null, null, "2026-11-26T09:00:00Z");
        NodeReport report = rules.apply(new NodeReport(List.of(connected), null, null),
                event(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.START).build()), TUNNEL, t0);
        assertThat(report.conditions()).contains(connected).hasSize(4);
    }

    @Test
    void addressesAreFilteredAndTheirOrderKept() {
        NodeReport report = rules.apply(EMPTY, event(AddressEvent.newBuilder().setHostname("h")
                .addAddresses("fdae:2859:5bb1:7a03::abcd").addAddresses("172.16.0.9").addAddresses("10.1.2.3").addAddresses("fd12::1")
                .addAddresses("2001:db8::7").addAddresses("172.16.0.9").addAddresses("172.16.0.0/12").addAddresses("").addAddresses("10.1").addAddresses("1").addAddresses("192.168.*.1").build()), TUNNEL, t0);
        assertThat(report.addresses()).containsExactly("172.16.0.9", "2001:db8::7");
        assertThat(report.hostname()).isEqualTo("h");
    }

    @Test
    void printOnlyEventsAreRecognisedAsSuch() {
        assertThat(StatusRules.affectsStatus(event(TaskEvent.newBuilder().setTask("x").build()))).isFalse();
        assertThat(StatusRules.affectsStatus(event(PhaseEvent.newBuilder().setPhase("install").setAction(PhaseEvent.Action.STOP).build()))).isFalse();
        assertThat(StatusRules.affectsStatus(event(SequenceEvent.newBuilder().setSequence("boot").setAction(SequenceEvent.Action.STOP).build()))).isFalse();
        assertThat(StatusRules.affectsStatus(event(SequenceEvent.newBuilder().setSequence("install").setAction(SequenceEvent.Action.NOOP)
                .setError(dev.talos.api.common.Error.newBuilder().setCode(dev.talos.api.common.Code.LOCKED)).build()))).as("LOCKED is not FATAL").isFalse();
        assertThat(StatusRules.affectsStatus(event(PhaseEvent.newBuilder().setPhase("install").build()))).isTrue();
    }
}
