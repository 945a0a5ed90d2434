package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The Talos API subset {@code talosctl events} uses ({@code machine.MachineService/Events}), part
 * of the {@code serverevents} component.
 *
 * @param port gRPC port (TLS with client certificates from the installation CA), all addresses;
 *     0 picks a free port
 * @param names extra host names and IP addresses for the server certificate and the talosconfig
 *     endpoints, besides the hosts of {@code siderolink.wireguard.endpoint}
 * @param role the Talos role written into client certificates: {@code os:reader} or {@code os:admin}
 * @param talosconfigEndpoint the HTTP endpoint handing out talosconfig files
 */
@Validated
@ConfigurationProperties("siderolink.talos-api")
public record TalosApiProperties(
        @DefaultValue("50000") @Min(0) @Max(65535) int port,
        @DefaultValue({}) @NotNull List<String> names,
        @DefaultValue("os:reader") @Pattern(regexp = "os:reader|os:admin", message = "must be os:reader or os:admin") String role,
        @DefaultValue @NotNull TalosconfigEndpoint talosconfigEndpoint) {

    /**
     * {@code GET /api/v1/talosconfig} on {@code server.port}.
     *
     * @param enabled serve a freshly signed talosconfig to anyone who can reach {@code server.port}
     *     (off: whoever reaches it can read the events of every server)
     */
    public record TalosconfigEndpoint(@DefaultValue("false") boolean enabled) {}
}
