package dev.siderolink.server.output;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The shared stream outputs (used by serverlogs and serverevents). */
@Configuration(proxyBeanMethods = false)
class OutputConfiguration {

    @Bean
    @ConditionalOnMissingBean
    LineOutputs lineOutputs(MeterRegistry registry) {
        return new LineOutputs(registry);
    }
}
