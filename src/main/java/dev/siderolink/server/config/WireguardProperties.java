package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.boot.context.properties.bind.Name;
import org.springframework.validation.annotation.Validated;

/**
 * The server's WireGuard side.
 *
 * @param interfaceName interface name (property {@code siderolink.wireguard.interface})
 * @param endpoint hosts or IPs (optionally with {@code :port}) nodes use to reach WireGuard, most
 *     preferred first; required with the kubernetes store, standalone defaults to the first
 *     non-loopback address of this machine
 * @param port WireGuard UDP listen port
 * @param userspace {@code auto} (kernel module if it works, else wireguard-go), {@code always}, {@code never}
 * @param reconcileInterval how often peers are compared with the bindings even when nothing changed
 *     (binding changes trigger a pass at once)
 * @param removeDownPeers remove peers with no handshake for 275 s until their server provisions again
 *     (off, as in the reference)
 */
@Validated
@ConfigurationProperties("siderolink.wireguard")
public record WireguardProperties(
        @Name("interface") @DefaultValue("siderolink")
                @Pattern(regexp = "[a-zA-Z0-9_.=-]{1,15}", message = "must be a Linux interface name: 1 to 15 letters, digits or _.=-")
                String interfaceName,
        @DefaultValue({}) @NotNull List<String> endpoint,
        @DefaultValue("51821") @Min(1) @Max(65535) int port,
        @DefaultValue("auto") @NotNull Userspace userspace,
        @DefaultValue("5s") @NotNull Duration reconcileInterval,
        @DefaultValue("false") boolean removeDownPeers) {

    /** When to run WireGuard in user space. */
    public enum Userspace {
        AUTO,
        ALWAYS,
        NEVER
    }
}
