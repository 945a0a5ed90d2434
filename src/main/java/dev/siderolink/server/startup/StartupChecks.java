package dev.siderolink.server.startup;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.provision.AdvertisedEndpoints;
import java.util.List;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.env.EnvironmentPostProcessor;
import org.springframework.core.Ordered;
import org.springframework.core.env.ConfigurableEnvironment;

/**
 * Checks that need no network, before anything connects anywhere: an operator with a missing
 * endpoint learns it at once, not after the Kubernetes API has been reached.
 */
public class StartupChecks implements EnvironmentPostProcessor, Ordered {

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        Binder binder = Binder.get(environment);
        StoreKind store = binder.bind("siderolink.store", StoreKind.class).orElse(StoreKind.STANDALONE);
        List<Component> components = binder.bind("siderolink.components", Bindable.listOf(Component.class)).orElse(List.of(Component.LINK));
        if (store == StoreKind.KUBERNETES && components.contains(Component.LINK)) {
            // validates presence and syntax of siderolink.wireguard.endpoint
            AdvertisedEndpoints.preferred(binder.bindOrCreate("siderolink.wireguard", WireguardProperties.class), store);
        }
    }

    @Override
    public int getOrder() {
        return Ordered.LOWEST_PRECEDENCE; // after the config files are loaded
    }
}
