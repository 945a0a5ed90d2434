package dev.siderolink.server.wireguard;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.ConditionalOnComponent;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.provision.NodeProvisioned;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;

/** The WireGuard side of the {@code link} component. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnComponent(Component.LINK)
class WireGuardConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    WgCommands wgCommands() {
        return new ProcessWgCommands();
    }

    @Bean
    @ConditionalOnMissingBean
    Clock clock() {
        return Clock.systemUTC();
    }

    @Bean
    WireGuardDevice wireGuardDevice(WgCommands commands, WireguardProperties properties, InstallationIdentity identity, Clock clock) {
        return new WireGuardDevice(commands, properties, identity, clock);
    }

    @Bean
    Connectivity connectivity(ResourceStore store, MeterRegistry registry) {
        return new Connectivity(store, registry);
    }

    @Bean
    PeerReconciler peerReconciler(WireGuardDevice device, ResourceStore store, Connectivity connectivity, WireguardProperties properties,
            Clock clock, MeterRegistry registry) {
        return new PeerReconciler(device, store, connectivity, properties.reconcileInterval(), properties.removeDownPeers(), clock, registry);
    }

    @Bean
    ProvisionedPeers provisionedPeers(PeerReconciler reconciler) {
        return new ProvisionedPeers(reconciler);
    }

    /** {@code wireguard}: readiness of the link. */
    @Bean(Component.Health.WIREGUARD + "HealthIndicator")
    WireGuardHealthIndicator wireguardHealthIndicator(WireGuardDevice device, PeerReconciler reconciler, Connectivity connectivity,
            WireguardProperties properties) {
        return new WireGuardHealthIndicator(device, reconciler, connectivity, properties.port());
    }

    /** {@code peerReconciler}: liveness of the link. */
    @Bean(Component.Health.PEER_RECONCILER + "HealthIndicator")
    PeerReconcilerHealthIndicator peerReconcilerHealthIndicator(PeerReconciler reconciler, Clock clock) {
        return new PeerReconcilerHealthIndicator(reconciler, clock);
    }

    /** A provisioned node whose peer was removed as down gets it back (a changed key reaches the reconciler as a binding change). */
    record ProvisionedPeers(PeerReconciler reconciler) {
        @EventListener
        public void on(NodeProvisioned event) {
            reconciler.provisioned(event.uuid());
        }
    }
}
