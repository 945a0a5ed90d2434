package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * The kernel-log receivers ({@code serverlogs} component).
 *
 * @param port UDP and TCP port, bound to the server's tunnel address only; 0 picks free ports (tests: TCP and UDP then differ)
 * @param output {@code stdout} or a file path (appended to): the annotated server-log stream
 * @param maxMessageSize longest message accepted (a TCP line without its newline, or a UDP
 *     datagram); longer ones are dropped and counted, the connection stays open
 * @param udpReceiveBuffer socket receive buffer asked for the UDP socket; the kernel caps it at
 *     {@code net.core.rmem_max}, and the size granted is logged at start
 * @param outputBuffer finished lines queued for the output before TCP reads pause and UDP
 *     datagrams are dropped (counted as {@code overload})
 * @param perServerMetrics also count messages per server UUID (one time series per ServerBinding)
 */
@Validated
@ConfigurationProperties("siderolink.logs")
public record LogsProperties(
        @DefaultValue("4001") @Min(0) @Max(65535) int port,
        @DefaultValue("stdout") @NotBlank String output,
        @DefaultValue("64KB") @NotNull DataSize maxMessageSize,
        @DefaultValue("32MB") @NotNull DataSize udpReceiveBuffer,
        @DefaultValue("16MB") @NotNull DataSize outputBuffer,
        @DefaultValue("true") boolean perServerMetrics) {

    /** Largest UDP payload over IPv6 (without jumbograms). */
    public static final int MAX_DATAGRAM = 65_527;

    public LogsProperties {
        if (maxMessageSize != null && (maxMessageSize.toBytes() < 1024 || maxMessageSize.toBytes() > 1024 * 1024)) {
            throw new IllegalArgumentException("siderolink.logs.max-message-size must be between 1KB and 1MB, not " + maxMessageSize);
        }
        if (outputBuffer != null && maxMessageSize != null && outputBuffer.toBytes() < 4 * maxMessageSize.toBytes()) {
            throw new IllegalArgumentException("siderolink.logs.output-buffer (" + outputBuffer
                    + ") must hold at least four messages of siderolink.logs.max-message-size (" + maxMessageSize + ")");
        }
        if (udpReceiveBuffer != null && (udpReceiveBuffer.toBytes() < 64 * 1024 || udpReceiveBuffer.toBytes() > Integer.MAX_VALUE)) {
            throw new IllegalArgumentException("siderolink.logs.udp-receive-buffer must be between 64KB and 2GB, not " + udpReceiveBuffer);
        }
    }
}
