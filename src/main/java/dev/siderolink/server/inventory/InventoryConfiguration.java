package dev.siderolink.server.inventory;

import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** What every component reads from the store: the address-to-binding directory. */
@Configuration(proxyBeanMethods = false)
class InventoryConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BindingDirectory bindingDirectory(ResourceStore store) {
        return new BindingDirectory(store);
    }
}
