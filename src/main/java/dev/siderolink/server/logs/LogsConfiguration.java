package dev.siderolink.server.logs;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.ConditionalOnComponent;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.output.LineOutputs;
import dev.siderolink.server.output.LineWriter;
import dev.siderolink.server.output.OutputUnavailableException;
import dev.siderolink.server.startup.StartupProblem;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The {@code serverlogs} component: kernel log receivers on the tunnel address and the annotated stream. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnComponent(Component.SERVERLOGS)
class LogsConfiguration {

    /** Receivers start after, and stop before, the output writers they feed. */
    static final int RECEIVER_PHASE = 0;

    @Bean
    Listen logsListen(InstallationIdentity identity, LogsProperties properties) {
        return new Listen(identity.network().serverAddress().toInetAddress(), properties.port());
    }

    @Bean("serverLogsWriter")
    LineWriter serverLogsWriter(LineOutputs outputs, LogsProperties properties) {
        try {
            return outputs.writer(properties.output(), properties.outputBuffer().toBytes());
        } catch (OutputUnavailableException e) {
            throw new StartupProblem("The server-log stream's output " + e.getMessage() + ".",
                    "Point siderolink.logs.output (env SIDEROLINK_LOGS_OUTPUT) at a writable file, or set it to stdout.", e);
        }
    }

    @Bean(destroyMethod = "close")
    LogMetrics logMetrics(MeterRegistry registry, LogsProperties properties, ResourceStore store) {
        return new LogMetrics(registry, properties.perServerMetrics(), store.events());
    }

    @Bean
    Ingest logsIngest(LogsProperties properties, InstallationIdentity identity, BindingDirectory directory, LineWriter serverLogsWriter,
            LogMetrics metrics, ServerHistories history) {
        return new Ingest((int) properties.maxMessageSize().toBytes(), identity.network(), directory, serverLogsWriter, metrics, history);
    }

    @Bean
    TcpLogReceiver tcpLogReceiver(Listen logsListen, Ingest logsIngest) {
        return new TcpLogReceiver(logsListen, logsIngest);
    }

    @Bean
    UdpLogReceiver udpLogReceiver(Listen logsListen, LogsProperties properties, Ingest logsIngest, MeterRegistry registry) {
        UdpLogReceiver receiver = new UdpLogReceiver(logsListen, (int) properties.udpReceiveBuffer().toBytes(), logsIngest);
        FunctionCounter.builder(LogMetrics.DROPPED, receiver, UdpLogReceiver::kernelDrops)
                .description("Kernel log messages not written, by reason")
                .tag("transport", LogMetrics.Transport.UDP.tag)
                .tag("reason", "receive-buffer")
                .register(registry);
        return receiver;
    }

    /** {@code serverlogs}: readiness and liveness of this component. */
    @Bean(Component.Health.SERVERLOGS + "HealthIndicator")
    LogsHealthIndicator serverlogsHealthIndicator(TcpLogReceiver tcp, UdpLogReceiver udp, LineWriter serverLogsWriter, LogMetrics metrics) {
        return new LogsHealthIndicator(tcp, udp, serverLogsWriter, metrics);
    }
}
