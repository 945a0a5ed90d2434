package dev.siderolink.server.testing;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/**
 * Runs the link component on {@link FakeWgCommands} instead of the real {@code wg} and {@code ip}:
 * for tests about the rest of the server, which then need neither root nor wireguard-go (the real
 * side is tested end to end).
 */
@TestConfiguration(proxyBeanMethods = false)
public class FakeWireGuard {

    @Bean
    @Primary
    FakeWgCommands fakeWgCommands() {
        return new FakeWgCommands();
    }
}
