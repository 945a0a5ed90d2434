package dev.siderolink.server.provision;

import static org.assertj.core.api.Assertions.assertThat;

import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.InstallationSecret;
import dev.siderolink.server.installation.NodeAddressAllocator;
import dev.siderolink.server.inventory.BindingEvent;
import dev.siderolink.server.inventory.BindingNotFoundException;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.inventory.StoreUnavailableException;
import dev.siderolink.server.testing.ProvisionClient;
import inet.ipaddr.ipv6.IPv6Address;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.security.SecureRandom;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** How store failures become gRPC statuses: transient ones retryable, none of them a stack trace to the node. */
class ProvisionerTest {

    /** A store whose update fails with the given error. */
    record FailingStore(RuntimeException error) implements ResourceStore {
        public Mono<InstallationSecret> loadOrCreateInstallationSecret(Supplier<InstallationSecret> generator) {
            return Mono.error(error);
        }

        public Mono<java.util.Map<String, String>> loadOrCreateSecret(String name, Supplier<java.util.Map<String, String>> generator) {
            return Mono.error(error);
        }

        public Mono<ServerBinding> updateSiderolink(String uuid, UnaryOperator<ServerBinding.Siderolink> update) {
            return Mono.error(error);
        }

        public Mono<ServerBinding> updateConditions(String uuid, UnaryOperator<List<dev.siderolink.server.inventory.Condition>> update) {
            return Mono.error(error);
        }

        public Mono<ServerBinding> updateReport(String uuid, UnaryOperator<dev.siderolink.server.inventory.NodeReport> update) {
            return Mono.error(error);
        }

        public Mono<Boolean> updateMetalMachineStatus(dev.siderolink.server.inventory.MetalMachine.Key key,
                UnaryOperator<dev.siderolink.server.inventory.MetalMachineStatus> update) {
            return Mono.error(error);
        }

        public Optional<ServerBinding> binding(String uuid) {
            return Optional.empty();
        }

        public Collection<ServerBinding> bindings() {
            return List.of();
        }

        public boolean isAddressAssigned(IPv6Address address) {
            return false;
        }

        public Flux<BindingEvent> events() {
            return Flux.never();
        }

        public Optional<dev.siderolink.server.inventory.MetalMachine> metalMachine(dev.siderolink.server.inventory.MetalMachine.Key key) {
            return Optional.empty();
        }

        public Collection<dev.siderolink.server.inventory.MetalMachine> metalMachines() {
            return List.of();
        }

        public Flux<dev.siderolink.server.inventory.MetalMachineEvent> metalMachineEvents() {
            return Flux.never();
        }

        public boolean isSynced() {
            return true;
        }
    }

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of("binding missing", new BindingNotFoundException("u-1"), Status.Code.NOT_FOUND, "server binding \"u-1\" not found"),
                Arguments.of("store down", new StoreUnavailableException("Kubernetes API: cannot patch (HTTP 503)", null), Status.Code.UNAVAILABLE, "state store unavailable, retry later"),
                Arguments.of("bug", new IllegalStateException("boom"), Status.Code.INTERNAL, "internal error"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void mapsStoreFailuresToStatuses(String name, RuntimeException error, Status.Code code, String message) {
        InstallationIdentity identity = InstallationIdentity.from(InstallationIdentity.generateSecret(new SecureRandom()));
        Provisioner provisioner = new Provisioner(new FailingStore(error), identity,
                new NodeAddressAllocator(identity.network(), new SecureRandom()), List.of("192.0.2.1:51821"),
                new ProvisionProperties(""), new ProvisionMetrics(new SimpleMeterRegistry()));

        StepVerifier.create(provisioner.provision(ProvisionClient.request("u-1", ProvisionClient.newKey()).build()))
                .expectErrorSatisfies(e -> {
                    assertThat(e).isInstanceOf(ProvisionRefusal.class);
                    ProvisionRefusal refusal = (ProvisionRefusal) e;
                    assertThat(refusal.code()).isEqualTo(code);
                    assertThat(refusal.toStatus().getDescription()).isEqualTo(message);
                })
                .verify();
    }
}
