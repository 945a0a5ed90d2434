package dev.siderolink.server.history;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.HistoryProperties;
import dev.siderolink.server.testing.InMemoryResourceStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HistoryConfigurationTest {

    @Test
    void aDeletedServerBindingTakesItsHistoryWithItAndOthersKeepTheirs() throws Exception {
        InMemoryResourceStore store = new InMemoryResourceStore();
        store.put("a", "fd00::2/64", "key-a");
        store.put("b", "fd00::3/64", "key-b");
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        HistoryConfiguration configuration = new HistoryConfiguration();
        ServerHistories histories = configuration.serverHistories(HistoryProperties.DEFAULT, registry);
        HistoryConfiguration.ForgetDeletedServers forgetting = configuration.forgetDeletedHistories(store, histories);
        try {
            byte[] line = "{\"msg\":\"hi\"}\n".getBytes(StandardCharsets.UTF_8);
            histories.recordLines("a", line, line.length);
            histories.recordLines("b", line, line.length);

            store.remove("a");

            assertThat(histories.knows("a")).isFalse();
            assertThat(histories.entries(Kind.LOGS, "b", -1)).hasSize(1);
            assertThat(histories.bytes()).isEqualTo(histories.bytes("b"));
            assertThat(registry.get(ServerHistories.ENTRIES).tag("kind", "logs").gauge().value()).isEqualTo(1);
        } finally {
            forgetting.destroy();
        }
    }
}
