package dev.siderolink.server.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.MetalMachine;
import dev.siderolink.server.inventory.MetalMachineStatus;
import dev.siderolink.server.inventory.NodeReport;
import dev.siderolink.server.inventory.StoreUnavailableException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The test double's own rules, which other tests rely on: no-ops are not writes, failures are injected per write. */
class InMemoryResourceStoreTest {

    private final InMemoryResourceStore store = new InMemoryResourceStore();

    @Test
    void reportUpdateCountsOnlyRealWritesAndKeepsTheRestOfTheBinding() {
        store.put("u-1", "fdae:2859:5bb1:7a03::5/64", "default", "worker-1", "management");
        NodeReport report = new NodeReport(List.of(Condition.isTrue("TalosInstalled")), List.of("10.5.0.3"), "node-1");

        store.updateReport("u-1", current -> report).block();
        store.updateReport("u-1", current -> report).block();

        assertThat(store.reportWrites).hasValue(1);
        assertThat(store.binding("u-1")).get().satisfies(b -> {
            assertThat(b.report()).isEqualTo(report);
            assertThat(b.clusterName()).isEqualTo("management");
            assertThat(b.metalMachineRef().name()).isEqualTo("worker-1");
        });
    }

    @Test
    void reportUpdateOfUnknownBindingIsNotFound() {
        assertThatThrownBy(() -> store.updateReport("u-404", current -> current).block()).isInstanceOf(BindingNotFoundException.class);
    }

    @Test
    void failNextWritesFailsThatManyWritesAndStoresNothing() {
        store.put("u-1", "fdae:2859:5bb1:7a03::5/64", null);
        store.failNextWrites.set(1);
        NodeReport report = new NodeReport(List.of(), List.of("10.5.0.3"), "node-1");

        assertThatThrownBy(() -> store.updateReport("u-1", current -> report).block()).isInstanceOf(StoreUnavailableException.class);
        assertThat(store.binding("u-1")).get().extracting(b -> b.hostname()).isNull();
        assertThat(store.reportWrites).hasValue(0);

        store.updateReport("u-1", current -> report).block();
        assertThat(store.binding("u-1")).get().extracting(b -> b.hostname()).isEqualTo("node-1");
        assertThat(store.failNextWrites).hasValue(0);
    }

    @Test
    void metalMachineStatusIsFalseWhenMissingAndKeptPerKey() {
        MetalMachine.Key key = new MetalMachine.Key("default", "worker-1");
        MetalMachineStatus status = new MetalMachineStatus(List.of(Condition.isTrue("TalosInstalled")), List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3")));

        assertThat(store.updateMetalMachineStatus(key, current -> status).block()).isFalse();
        store.putMetalMachine("default", "worker-1", "m-1");
        assertThat(store.metalMachineStatus("default", "worker-1")).isEqualTo(new MetalMachineStatus(null, null));
        assertThat(store.updateMetalMachineStatus(key, current -> status).block()).isTrue();
        assertThat(store.updateMetalMachineStatus(key, current -> status).block()).isTrue();

        assertThat(store.metalMachineStatus("default", "worker-1")).isEqualTo(status);
        assertThat(store.metalMachineWrites).hasValue(1);
        assertThat(store.metalMachineStatus("default", "worker-2")).isNull();
    }
}
