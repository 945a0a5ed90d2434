package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
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
 * @param ioThreads threads that read and write the files: short file operations (the journal's
 *     fsync runs on a thread of its own), so a few more than cores; creating a binding or a
 *     Secret, which waits for its own fsync, runs on 64 threads of its own
 */
@Validated
@ConfigurationProperties("siderolink.standalone")
public record StandaloneProperties(
        @DefaultValue("./var/siderolink") @NotNull Path dir,
        @DefaultValue("true") boolean autoAccept,
        @DefaultValue("1s") @NotNull Duration rescanInterval,
        @DefaultValue("8") @Min(1) @Max(1024) int ioThreads) {}
