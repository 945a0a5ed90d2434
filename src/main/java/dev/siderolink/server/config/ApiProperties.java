package dev.siderolink.server.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.validation.annotation.Validated;

/**
 * The Provision API.
 *
 * @param port Provision gRPC port (plaintext HTTP/2, all addresses); also {@code grpc.server.port}
 */
@Validated
@ConfigurationProperties("siderolink.api")
public record ApiProperties(@DefaultValue("8081") @Min(0) @Max(65535) int port) {}
