package dev.siderolink.server.inventory;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * {@link MetalMachineResources}: which owner reference names the Machine, and reading and writing
 * the mirrored status.
 */
class MetalMachineResourcesTest {

    private final KubernetesSerialization serialization = new KubernetesSerialization();

    @ParameterizedTest(name = "{0} {1} -> {2}")
    @CsvSource(nullValues = "null", value = {
            "cluster.x-k8s.io/v1alpha3,               Machine,    m-1",
            "cluster.x-k8s.io/v1alpha4,               Machine,    m-1",
            "cluster.x-k8s.io/v1beta1,                Machine,    m-1",
            "cluster.x-k8s.io/v1beta2,                Machine,    m-1",
            "infrastructure.cluster.x-k8s.io/v1alpha3, Machine,   null",
            "x-cluster.x-k8s.io/v1beta1,              Machine,    null",
            "cluster.x-k8s.io.example.com/v1,         Machine,    null",
            "v1,                                      Machine,    null",
            "cluster.x-k8s.io/v1beta1,                MachineSet, null",
            "cluster.x-k8s.io/v1beta1,                machine,    null",
    })
    void machineIsTheOwnerOfKindMachineInGroupClusterXK8sIo(String apiVersion, String kind, String expected) {
        MetalMachine metalMachine = parse("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  namespace: default
                  name: worker-1
                  ownerReferences:
                    - apiVersion: %s
                      kind: %s
                      name: m-1
                      uid: 0b0d1a6c-5b7e-4c1e-9a43-1f0e3c5d2b11
                """.formatted(apiVersion, kind));

        assertThat(metalMachine).isEqualTo(new MetalMachine("default", "worker-1", expected));
    }

    @Test
    void firstMatchingOwnerWinsAndOthersAreSkipped() {
        MetalMachine metalMachine = parse("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata:
                  namespace: default
                  name: worker-1
                  ownerReferences:
                    - {apiVersion: cluster.x-k8s.io/v1beta1, kind: MachineSet, name: set-1}
                    - {kind: Machine, name: no-api-version}
                    - {apiVersion: cluster.x-k8s.io/v1beta1, kind: Machine}
                    - {apiVersion: cluster.x-k8s.io/v1beta1, kind: Machine, name: the-machine}
                    - {apiVersion: cluster.x-k8s.io/v1beta1, kind: Machine, name: a-second-one}
                """);

        assertThat(metalMachine.machineName()).isEqualTo("the-machine");
    }

    @Test
    void noOwnerReferencesGiveNoMachine() {
        MetalMachine metalMachine = parse("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata: {namespace: default, name: worker-1}
                """);

        assertThat(metalMachine).isEqualTo(new MetalMachine("default", "worker-1", null));
    }

    @Test
    void nullOwnerReferencesGiveNoMachine() {
        GenericKubernetesResource resource = serialization.unmarshal("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata: {namespace: default, name: worker-1}
                """, GenericKubernetesResource.class);
        resource.getMetadata().setOwnerReferences(null);

        assertThat(MetalMachineResources.toMetalMachine(resource).machineName()).isNull();
    }

    @Test
    void statusSkipsConditionsWithoutTypeAndAddressesWithoutTypeOrAddress() {
        MetalMachineStatus status = MetalMachineResources.toStatus(resource("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata: {namespace: default, name: worker-1}
                status:
                  conditions:
                    - {type: Ready, status: "True", lastTransitionTime: "2024-05-01T10:00:00Z"}
                    - {status: "False"}
                    - just text
                  addresses:
                    - {type: InternalIP, address: 10.5.0.3}
                    - {type: Hostname}
                    - {address: 10.5.0.4}
                    - {type: InternalIP, address: [10.5.0.5]}
                    - 10.5.0.6
                """));

        assertThat(status).isEqualTo(new MetalMachineStatus(List.of(new Condition("Ready", "True", null, null, null, "2024-05-01T10:00:00Z")),
                List.of(new MetalMachineStatus.Address("InternalIP", "10.5.0.3"))));
    }

    @Test
    void statusOfOddShapesIsEmpty() {
        for (String status : List.of("", "status: 7\n", "status: {conditions: 7, addresses: {type: InternalIP}}\n")) {
            assertThat(MetalMachineResources.toStatus(resource("""
                    apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                    kind: MetalMachine
                    metadata: {namespace: default, name: worker-1}
                    """ + status))).as(status).isEqualTo(new MetalMachineStatus(null, null));
        }
    }

    @Test
    void setStatusReplacesOnlyConditionsAndAddresses() {
        GenericKubernetesResource resource = resource("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: MetalMachine
                metadata: {namespace: default, name: worker-1}
                spec: {serverRef: {name: s-1}}
                status:
                  ready: true
                  failureReason: none
                  conditions: [{type: Ready, status: "True"}]
                  addresses: [{type: InternalIP, address: 10.5.0.3}]
                """);
        MetalMachineStatus next = new MetalMachineStatus(List.of(Condition.isTrue("TalosInstalled")),
                List.of(new MetalMachineStatus.Address("Hostname", "node-1")));

        MetalMachineResources.setStatus(resource, next);

        assertThat(MetalMachineResources.toStatus(resource)).isEqualTo(next);
        assertThat((Object) resource.get("status", "ready")).isEqualTo(true);
        assertThat((Object) resource.get("status", "failureReason")).isEqualTo("none");
        assertThat((Object) resource.get("spec", "serverRef", "name")).isEqualTo("s-1");
        assertThat(MetalMachineResources.statusPatch(next, "42")).isEqualTo(Map.of(
                "metadata", Map.of("resourceVersion", "42"),
                "status", Map.of("conditions", List.of(Map.of("type", "TalosInstalled", "status", "True")),
                        "addresses", List.of(Map.of("type", "Hostname", "address", "node-1")))));
    }

    private GenericKubernetesResource resource(String yaml) {
        return serialization.unmarshal(yaml, GenericKubernetesResource.class);
    }

    private MetalMachine parse(String yaml) {
        return MetalMachineResources.toMetalMachine(serialization.unmarshal(yaml, GenericKubernetesResource.class));
    }
}
