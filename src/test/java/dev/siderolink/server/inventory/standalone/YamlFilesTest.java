package dev.siderolink.server.inventory.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class YamlFilesTest {

    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final YamlFiles yaml = new YamlFiles(serialization);

    @Test
    void readsBackExactlyWhatWasWrittenWhateverTheStringsLookLike() {
        GenericKubernetesResource resource = serialization.unmarshal("""
                apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
                kind: ServerBinding
                metadata:
                  name: 8b3b7e4e-6c0e-4f7e-9d43-2f1a9c3e5b10
                  labels: {cluster.x-k8s.io/cluster-name: "yes"}
                spec:
                  hostname: "1e3"
                  addresses: ["null", "true", "~", "0x1F", "- dash", "a: b", "#hash", ""]
                status:
                  conditions: []
                  ready: true
                  observed: 3
                """, GenericKubernetesResource.class);
        Map<String, Object> status = new LinkedHashMap<>(resource.getAdditionalProperties());
        String message = "line one\nline \"two\"\ttab \\ backslash \u0007 bell é 日本 \uD83D\uDE80";
        resource.setAdditionalProperty("status", Map.of("conditions", List.of(Map.of("type", "TalosInstalled", "message", message)),
                "ready", true, "observed", 3));

        byte[] written = yaml.toYaml(resource);
        GenericKubernetesResource read = serialization.unmarshal(new String(written, StandardCharsets.UTF_8), GenericKubernetesResource.class);

        assertThat(read).isEqualTo(resource);
        assertThat((Object) read.get("spec", "hostname")).isEqualTo("1e3");
        assertThat((Object) read.get("spec", "addresses", 0)).isEqualTo("null");
        assertThat((Object) read.get("status", "conditions", 0, "message")).isEqualTo(message);
        assertThat(status).containsKey("spec");
    }

    @Test
    void looksLikeTheKubernetesYamlOperatorsKnow() {
        GenericKubernetesResource resource = serialization.unmarshal("""
                {"apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha3", "kind": "MetalMachine",
                 "metadata": {"name": "worker-1", "namespace": "default"},
                 "status": {"addresses": [{"type": "Hostname", "address": "node-1"}]}}
                """, GenericKubernetesResource.class);

        String text = new String(yaml.toYaml(resource), StandardCharsets.UTF_8);

        assertThat(text).startsWith("---\napiVersion: \"infrastructure.cluster.x-k8s.io/v1alpha3\"\nkind: \"MetalMachine\"\n")
                .contains("metadata:\n  name: \"worker-1\"\n  namespace: \"default\"\n")
                .contains("  addresses:\n  - type: \"Hostname\"\n    address: \"node-1\"\n")
                .doesNotContain("{");
    }
}
