package dev.siderolink.server.config;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * Process-wide settings.
 *
 * @param components which parts run in this process
 * @param store where ServerBindings and the installation Secret live
 * @param namespace namespace of the {@code siderolink} Secret (kubernetes store)
 */
@Validated
@ConfigurationProperties("siderolink")
public record SiderolinkProperties(
        @DefaultValue({"link", "serverlogs", "serverevents"}) @NotEmpty Set<Component> components,
        @DefaultValue("standalone") @NotNull StoreKind store,
        @DefaultValue("default") @NotBlank String namespace) {

    public boolean runs(Component component) {
        return components.contains(component);
    }
}
