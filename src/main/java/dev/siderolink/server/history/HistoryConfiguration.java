package dev.siderolink.server.history;

import dev.siderolink.server.config.HistoryProperties;
import dev.siderolink.server.inventory.Change;
import dev.siderolink.server.inventory.ResourceStore;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;

/**
 * The history, in every process: the components this process runs feed it (serverlogs: log
 * lines, serverevents: events), the HTTP API reads it.
 */
@Configuration(proxyBeanMethods = false)
class HistoryConfiguration {

    @Bean
    @ConditionalOnMissingBean
    ServerHistories serverHistories(HistoryProperties properties, MeterRegistry registry) {
        return new ServerHistories(properties, registry);
    }

    /** A deleted ServerBinding's history goes with it. */
    @Bean
    ForgetDeletedServers forgetDeletedHistories(ResourceStore store, ServerHistories histories) {
        return new ForgetDeletedServers(store.events().filter(e -> e.type() == Change.DELETED).subscribe(e -> histories.forget(e.binding().uuid())));
    }

    record ForgetDeletedServers(Disposable subscription) implements DisposableBean {
        @Override
        public void destroy() {
            subscription.dispose();
        }
    }
}
