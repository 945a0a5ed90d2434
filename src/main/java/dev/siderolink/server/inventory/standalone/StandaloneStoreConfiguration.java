package dev.siderolink.server.inventory.standalone;

import dev.siderolink.server.config.ConditionalOnStore;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StandaloneProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.startup.StartupProblem;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** {@code siderolink.store=standalone} (the default). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnStore(StoreKind.STANDALONE)
class StandaloneStoreConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(ResourceStore.class)
    StandaloneResourceStore standaloneResourceStore(StandaloneProperties standalone, SiderolinkProperties properties) {
        StandaloneResourceStore store;
        try {
            store = new StandaloneResourceStore(standalone.dir(), properties.namespace(), standalone.autoAccept(), standalone.ioThreads());
        } catch (StandaloneStateException e) {
            throw new StartupProblem(e.getMessage(), "Fix the directory's permissions, or point siderolink.standalone.dir (env SIDEROLINK_STANDALONE_DIR) at a writable directory.", e);
        }
        store.startRescans(standalone.rescanInterval());
        return store;
    }
}
