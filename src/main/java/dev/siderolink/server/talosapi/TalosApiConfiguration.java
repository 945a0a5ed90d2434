package dev.siderolink.server.talosapi;

import dev.siderolink.server.config.Component;
import dev.siderolink.server.config.ConditionalOnComponent;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.TalosApiProperties;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.history.EventHistory;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.provision.AdvertisedEndpoints;
import dev.siderolink.server.startup.StartupProblem;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The Talos API ({@code talosctl events}), part of {@code serverevents}: the installation's CA,
 * the TLS gRPC server, and optionally the talosconfig HTTP endpoint.
 *
 * <p>The gRPC server serves the {@link EventHistory} bean; in a process without one it logs a
 * warning and does not bind (the CA and the talosconfig still work).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnComponent(Component.SERVEREVENTS)
class TalosApiConfiguration {

    private static final Logger log = LoggerFactory.getLogger(TalosApiConfiguration.class);
    private static final Duration LOAD_TIMEOUT = Duration.ofSeconds(60);

    @Bean
    TalosApiMetrics talosApiMetrics(MeterRegistry registry) {
        return new TalosApiMetrics(registry);
    }

    @Bean
    TalosApiIdentity talosApiIdentity(ResourceStore store, SiderolinkProperties siderolink, WireguardProperties wireguard, TalosApiProperties properties,
            SecureRandom random, ObjectProvider<Clock> clock) {
        return load(store, siderolink, wireguard, properties, random, clock.getIfAvailable(Clock::systemUTC));
    }

    /** Loads (or creates) the CA through the store; shared with the {@code talosconfig} command. */
    static TalosApiIdentity load(ResourceStore store, SiderolinkProperties siderolink, WireguardProperties wireguard, TalosApiProperties properties,
            SecureRandom random, Clock clock) {
        TalosPki.Issued ca;
        try {
            ca = TalosPki.fromSecretData(store.loadOrCreateSecret(TalosPki.SECRET_NAME,
                    () -> TalosPki.toSecretData(TalosPki.newCa(siderolink.namespace(), random, clock))).block(LOAD_TIMEOUT));
        } catch (StartupProblem e) {
            throw e;
        } catch (RuntimeException e) {
            String where = siderolink.store() == StoreKind.KUBERNETES
                    ? "Secret " + siderolink.namespace() + "/" + TalosPki.SECRET_NAME
                    : "secret-" + TalosPki.SECRET_NAME + ".yaml in siderolink.standalone.dir";
            throw new StartupProblem("Cannot load or create the Talos API CA (" + where + "): " + e.getMessage(),
                    "Restore it from a backup, or delete it to create a new CA (every talosconfig issued so far stops working).", e);
        }
        return new TalosApiIdentity(ca, names(siderolink, wireguard, properties), properties.port(), properties.role());
    }

    /** The server certificate's names: the WireGuard endpoint hosts, then {@code siderolink.talos-api.names}. */
    static List<String> names(SiderolinkProperties siderolink, WireguardProperties wireguard, TalosApiProperties properties) {
        List<String> endpoints;
        try {
            endpoints = AdvertisedEndpoints.preferred(wireguard, siderolink.store());
        } catch (StartupProblem e) {
            // e.g. the chart's serverevents container: the WireGuard endpoint is only the link container's setting
            endpoints = List.of();
        }
        List<String> names = TalosApiIdentity.names(endpoints, properties.names());
        if (names.isEmpty()) {
            log.warn("Talos API: no names for its certificate: set siderolink.talos-api.names (or siderolink.wireguard.endpoint) "
                    + "to the host names and addresses talosctl connects to, or talosctl will refuse the server certificate");
        }
        return names;
    }

    @Bean
    TalosApiServer talosApiServer(TalosApiIdentity identity, TalosApiProperties properties, ObjectProvider<EventHistory> history, ResourceStore store,
            SecureRandom random, ObjectProvider<Clock> clock, TalosApiMetrics metrics) {
        Clock time = clock.getIfAvailable(Clock::systemUTC);
        TalosPki.Issued serverCertificate = TalosPki.serverCertificate(identity.ca(), identity.names(), random, time);
        return new TalosApiServer(properties.port(), identity.ca(), serverCertificate, () -> {
            EventHistory events = history.getIfAvailable();
            return events == null ? null : new MachineEventsService(events, store, time, new Xid(random), metrics);
        });
    }

    /**
     * {@code GET /api/v1/talosconfig[?nodes=a,b]}: a talosconfig with a new client certificate.
     * Off by default: anyone who reaches {@code server.port} could read every server's events.
     */
    @Bean
    @ConditionalOnProperty(name = "siderolink.talos-api.talosconfig-endpoint.enabled", havingValue = "true")
    RouterFunction<ServerResponse> talosconfigRoute(TalosApiIdentity identity, TalosApiServer server, SecureRandom random, ObjectProvider<Clock> clock) {
        Clock time = clock.getIfAvailable(Clock::systemUTC);
        return RouterFunctions.route()
                .GET("/api/v1/talosconfig", request -> {
                    List<String> nodes = request.queryParam("nodes").map(v -> List.of(v.split(","))).orElse(List.of())
                            .stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
                    TalosApiIdentity bound = server.isServing() ? identity.withPort(server.boundPort()) : identity;
                    return Mono.fromCallable(() -> bound.talosconfig(nodes, random, time))
                            .subscribeOn(Schedulers.boundedElastic()) // key generation and signing: not on the event loop
                            .flatMap(yaml -> ServerResponse.ok()
                                    .contentType(MediaType.parseMediaType("application/yaml"))
                                    .header("Content-Disposition", "attachment; filename=talosconfig")
                                    .bodyValue(yaml));
                })
                .build();
    }
}
