package dev.siderolink.server.testing;

import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** Beans the Provision tests share: the real gRPC port, a random source they can script, an in-memory wg. */
@TestConfiguration(proxyBeanMethods = false)
public class ProvisionTestSupport {

    @Bean
    GrpcPort grpcPort() {
        return new GrpcPort();
    }

    @Bean
    @Primary
    ScriptedRandom scriptedRandom() {
        return new ScriptedRandom();
    }

    /** Provision tests are not about WireGuard: its real side is tested end to end elsewhere. */
    @Bean
    @Primary
    FakeWgCommands fakeWgCommands() {
        return new FakeWgCommands();
    }
}
