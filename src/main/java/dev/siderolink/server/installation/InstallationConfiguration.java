package dev.siderolink.server.installation;

import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.startup.StartupProblem;
import java.security.SecureRandom;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Loads (or creates) the installation identity once, at start-up, for every component. */
@Configuration(proxyBeanMethods = false)
class InstallationConfiguration {

    private static final Logger log = LoggerFactory.getLogger(InstallationConfiguration.class);
    private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(60);

    @Bean
    @ConditionalOnMissingBean
    SecureRandom secureRandom() {
        return new SecureRandom();
    }

    @Bean
    @ConditionalOnMissingBean
    InstallationIdentity installationIdentity(ResourceStore store, SiderolinkProperties properties, SecureRandom random) {
        InstallationSecret secret;
        try {
            secret = store.loadOrCreateInstallationSecret(() -> InstallationIdentity.generateSecret(random)).block(LOAD_TIMEOUT);
        } catch (StartupProblem e) {
            throw e;
        } catch (RuntimeException e) {
            String where = properties.store() == StoreKind.KUBERNETES
                    ? "Secret " + properties.namespace() + "/" + InstallationSecret.NAME + " in the Kubernetes API"
                    : "the standalone installation Secret";
            String action = properties.store() == StoreKind.KUBERNETES
                    ? "Check that the API server is reachable (kubeconfig or in-cluster service account) and that this account may get and create secrets in namespace "
                            + properties.namespace() + "."
                    : "Check siderolink.standalone.dir: the directory and its secret-siderolink.yaml must be readable and writable.";
            throw new StartupProblem("Cannot load or create " + where + ": " + e.getMessage(), action, e);
        }
        InstallationIdentity identity;
        try {
            identity = InstallationIdentity.from(secret);
        } catch (InvalidKeyException e) {
            throw new StartupProblem("The installation Secret is damaged: " + e.getMessage() + ".",
                    "Restore the Secret from a backup; deleting it starts a new installation (new network and key, every node re-provisions).", e);
        }
        log.info("SideroLink installation: network {}, server address {}, server public key {}",
                identity.network(), identity.network().serverAddress().toCompressedString(), identity.publicKey());
        return identity;
    }

    @Bean
    @ConditionalOnMissingBean
    NodeAddressAllocator nodeAddressAllocator(InstallationIdentity identity, SecureRandom random) {
        return new NodeAddressAllocator(identity.network(), random);
    }
}
