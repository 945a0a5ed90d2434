package dev.siderolink.server.provision;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.ConditionalOnComponent;
import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.grpc.PeerAddress;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.NodeAddressAllocator;
import dev.siderolink.server.inventory.ResourceStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import net.devh.boot.grpc.server.interceptor.GrpcGlobalServerInterceptor;
import net.devh.boot.grpc.server.service.GrpcService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The Provision API, part of the {@code link} component, served by the gRPC starter's server. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnComponent(Component.LINK)
class ProvisionConfiguration {

    private static final Logger log = LoggerFactory.getLogger(ProvisionConfiguration.class);

    @Bean
    @ConditionalOnMissingBean
    ProvisionMetrics provisionMetrics(MeterRegistry registry) {
        return new ProvisionMetrics(registry);
    }

    @Bean
    @ConditionalOnMissingBean
    Provisioner provisioner(ResourceStore store, InstallationIdentity identity, NodeAddressAllocator allocator,
            WireguardProperties wireguard, SiderolinkProperties properties, ProvisionProperties provision, ProvisionMetrics metrics,
            ApplicationEventPublisher events) {
        List<String> preferred = AdvertisedEndpoints.preferred(wireguard, properties.store());
        log.info("Provision API: WireGuard endpoints {} (preference order), join token {}",
                preferred, provision.requiresJoinToken() ? "required" : "not required");
        return new Provisioner(store, identity, allocator, AdvertisedEndpoints.onWire(preferred), provision, metrics, events::publishEvent);
    }

    @GrpcService
    @Bean
    ProvisionGrpcService provisionGrpcService(Provisioner provisioner, ProvisionMetrics metrics) {
        return new ProvisionGrpcService(provisioner, metrics);
    }

    @GrpcGlobalServerInterceptor
    @Bean
    PeerAddress peerAddressInterceptor() {
        return new PeerAddress();
    }

    /** {@code provision}: readiness of the link. */
    @Bean(Component.Health.PROVISION + "HealthIndicator")
    ProvisionHealthIndicator provisionHealthIndicator(ProvisionMetrics metrics, ProvisionProperties provision) {
        return new ProvisionHealthIndicator(metrics, provision.requiresJoinToken());
    }
}
