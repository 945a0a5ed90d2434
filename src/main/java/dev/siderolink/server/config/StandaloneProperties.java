package dev.siderolink.server.config;

import jakarta.validation.constraints.NotNull;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The standalone store: Kubernetes-shaped YAML files in one directory.
 *
 * @param dir the state directory (created when missing)
 * @param autoAccept a node provisioning with an unknown UUID gets a ServerBinding created
 * @param rescanInterval how often the directory is checked for files changed by hand
 */
@Validated
@ConfigurationProperties("siderolink.standalone")
public record StandaloneProperties(
        @DefaultValue("./var/siderolink") @NotNull Path dir,
        @DefaultValue("true") boolean autoAccept,
        @DefaultValue("1s") @NotNull Duration rescanInterval) {}
