package dev.siderolink.server.inventory;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/** The Secrets the installation keeps (in the cluster or as standalone files), shaped the same in both stores. */
public final class Secrets {

    private Secrets() {}

    /**
     * Secret {@code namespace/name} holding {@code values} (base64 in {@code data}, as the API stores
     * them), labelled so that {@code clusterctl move} takes it along with the cluster.
     */
    public static Secret of(String name, String namespace, Map<String, String> values) {
        Base64.Encoder b64 = Base64.getEncoder();
        Map<String, String> data = new TreeMap<>();
        values.forEach((key, value) -> data.put(key, b64.encodeToString(value.getBytes(StandardCharsets.UTF_8))));
        return new SecretBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(namespace)
                .addToLabels("clusterctl.cluster.x-k8s.io/move", "")
                .endMetadata()
                .withData(data)
                .build();
    }
}
