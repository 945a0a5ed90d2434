package dev.siderolink.server.inventory.kubernetes;

import dev.siderolink.server.config.ConditionalOnStore;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.inventory.ResourceStore;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * {@code siderolink.store=kubernetes}. The client is spring-cloud-kubernetes' one when it made one
 * (in a cluster, configured by {@code spring.cloud.kubernetes.client.*}); otherwise fabric8's
 * defaults (kubeconfig, {@code KUBECONFIG}, or the in-cluster service account).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnStore(StoreKind.KUBERNETES)
class KubernetesStoreConfiguration {

    @Bean
    @ConditionalOnMissingBean(ResourceStore.class)
    KubernetesResourceStore kubernetesResourceStore(ObjectProvider<KubernetesClient> clients, SiderolinkProperties properties) {
        KubernetesClient client = clients.getIfAvailable(() -> new KubernetesClientBuilder().build());
        return new KubernetesResourceStore(client, properties.namespace());
    }
}
