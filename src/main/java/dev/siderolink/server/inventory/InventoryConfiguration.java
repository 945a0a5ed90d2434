package dev.siderolink.server.inventory;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.SiderolinkProperties;
import java.util.Locale;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** What every component reads from the store: the address-to-binding directory; and the store's health. */
@Configuration(proxyBeanMethods = false)
class InventoryConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BindingDirectory bindingDirectory(ResourceStore store) {
        return new BindingDirectory(store);
    }

    /** {@code store} in /actuator/health and in every process's readiness group. */
    @Bean(Component.Health.STORE + "HealthIndicator")
    StoreHealthIndicator storeHealthIndicator(ResourceStore store, SiderolinkProperties properties) {
        return new StoreHealthIndicator(store, properties.store().name().toLowerCase(Locale.ROOT));
    }
}
