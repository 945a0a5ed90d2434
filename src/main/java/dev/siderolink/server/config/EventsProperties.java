package dev.siderolink.server.config;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The Talos event sink ({@code serverevents} component).
 *
 * @param port event sink gRPC port (plaintext HTTP/2), bound to the server's tunnel address only;
 *     0 picks a free port
 * @param output {@code stdout} or a file path (appended to): the event stream
 * @param negativeAddressFilter CIDR prefixes whose addresses are removed from the addresses a
 *     node reports (the SideroLink address is always removed)
 * @param outputBuffer event lines queued for the output before Publish waits for it
 * @param replayMemory event ids remembered per server to recognise replays
 */
@Validated
@ConfigurationProperties("siderolink.events")
public record EventsProperties(
        @DefaultValue("4002") @Min(0) @Max(65535) int port,
        @DefaultValue("stdout") @NotBlank String output,
        @DefaultValue({}) @NotNull List<String> negativeAddressFilter,
        @DefaultValue("16MB") @NotNull DataSize outputBuffer,
        @DefaultValue("256") @Min(16) @Max(1_000_000) int replayMemory) {

    public EventsProperties {
        for (String cidr : negativeAddressFilter == null ? List.<String>of() : negativeAddressFilter) {
            IPAddress parsed = new IPAddressString(cidr.trim()).getAddress();
            if (parsed == null || !parsed.isPrefixed()) {
                throw new IllegalArgumentException("siderolink.events.negative-address-filter: \"" + cidr
                        + "\" is not a CIDR prefix (write it like 10.0.0.0/8 or fd00::/8)");
            }
        }
    }

    /** The filter as parsed prefix blocks. */
    public List<IPAddress> negativeAddressPrefixes() {
        return negativeAddressFilter.stream().map(c -> new IPAddressString(c.trim()).getAddress().toPrefixBlock()).toList();
    }
}
