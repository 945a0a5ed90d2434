package dev.siderolink.server.events;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.ConditionalOnComponent;
import dev.siderolink.server.config.EventsProperties;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.inventory.BindingDirectory;
import dev.siderolink.server.inventory.Change;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.output.LineOutputs;
import dev.siderolink.server.output.LineWriter;
import dev.siderolink.server.output.OutputUnavailableException;
import dev.siderolink.server.startup.StartupProblem;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.Disposable;

/** The {@code serverevents} component: event sink on the tunnel address, event stream, status patcher. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnComponent(Component.SERVEREVENTS)
class EventsConfiguration {

    /** How long a node inside the prefix but without a binding is told to come back (a just-provisioned one). */
    static final Duration UNBOUND_GRACE = Duration.ofSeconds(60);

    @Bean("serverEventsWriter")
    LineWriter serverEventsWriter(LineOutputs outputs, EventsProperties properties) {
        try {
            return outputs.writer(properties.output(), properties.outputBuffer().toBytes());
        } catch (OutputUnavailableException e) {
            throw new StartupProblem("The event stream's output " + e.getMessage() + ".",
                    "Point siderolink.events.output (env SIDEROLINK_EVENTS_OUTPUT) at a writable file, or set it to stdout.", e);
        }
    }

    @Bean
    EventMetrics eventMetrics(MeterRegistry registry) {
        return new EventMetrics(registry);
    }

    @Bean
    EventHandler eventHandler(BindingDirectory directory, InstallationIdentity identity, ResourceStore store, EventsProperties properties,
            LineWriter serverEventsWriter, EventMetrics metrics, ObjectProvider<Clock> clock, ServerHistories history) {
        Clock time = clock.getIfAvailable(Clock::systemUTC);
        StatusPatcher patcher = new StatusPatcher(store, new StatusRules(properties.negativeAddressPrefixes()), metrics, time);
        return new EventHandler(directory, identity.network(), patcher, new ReplayMemory(properties.replayMemory()), serverEventsWriter, metrics,
                time, UNBOUND_GRACE, history);
    }

    @Bean
    ForgetDeletedServers forgetDeletedServers(ResourceStore store, EventHandler handler) {
        return new ForgetDeletedServers(store.events().filter(e -> e.type() == Change.DELETED).subscribe(e -> handler.forget(e.binding().uuid())));
    }

    @Bean
    EventSinkServer eventSinkServer(EventHandler handler, InstallationIdentity identity, EventsProperties properties) {
        return new EventSinkServer(identity.network().serverAddress().toInetAddress(), properties.port(), new EventSinkService(handler));
    }

    /** {@code serverevents}: readiness and liveness of this component. */
    @Bean(Component.Health.SERVEREVENTS + "HealthIndicator")
    EventsHealthIndicator serverEventsHealthIndicator(EventSinkServer server, LineWriter serverEventsWriter, EventMetrics metrics) {
        return new EventsHealthIndicator(server, serverEventsWriter, metrics);
    }

    /** Replay memory and queues of a deleted server are dropped with it (bounded memory). */
    record ForgetDeletedServers(Disposable subscription) implements DisposableBean {
        @Override
        public void destroy() {
            subscription.dispose();
        }
    }
}
