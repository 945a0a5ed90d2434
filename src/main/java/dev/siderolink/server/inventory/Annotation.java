package dev.siderolink.server.inventory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What the server knows about the node behind a tunnel address: the fields added to its log lines
 * and events. A field that cannot be resolved is null and is left out of {@link #fields()}.
 *
 * @param serverUuid ServerBinding {@code metadata.name}
 * @param namespace ServerBinding {@code spec.metalMachineRef.namespace}
 * @param metalMachine ServerBinding {@code spec.metalMachineRef.name}
 * @param machine the MetalMachine's owner reference of kind Machine (group {@code cluster.x-k8s.io})
 * @param cluster ServerBinding label {@code cluster.x-k8s.io/cluster-name}
 */
public record Annotation(String serverUuid, String namespace, String metalMachine, String machine, String cluster) {

    /** A source with no binding: nothing to add. */
    public static final Annotation NONE = new Annotation(null, null, null, null, null);

    /** The JSON field names, in sorted order. */
    public static final List<String> FIELD_NAMES = List.of("cluster", "machine", "metal_machine", "namespace", "server_uuid");

    /** The known fields as (JSON name, value) pairs in sorted name order. */
    public List<Map.Entry<String, String>> fields() {
        List<Map.Entry<String, String>> result = new ArrayList<>(5);
        add(result, "cluster", cluster);
        add(result, "machine", machine);
        add(result, "metal_machine", metalMachine);
        add(result, "namespace", namespace);
        add(result, "server_uuid", serverUuid);
        return Collections.unmodifiableList(result);
    }

    private static void add(List<Map.Entry<String, String>> into, String name, String value) {
        if (value != null && !value.isEmpty()) {
            into.add(Map.entry(name, value));
        }
    }

    public boolean isKnown() {
        return serverUuid != null;
    }
}
