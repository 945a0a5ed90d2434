package dev.siderolink.server.inventory;

import java.util.List;

/**
 * The fields of a ServerBinding ({@code infrastructure.cluster.x-k8s.io/v1alpha3}, cluster-scoped,
 * named by the server UUID) that SideroLink uses.
 *
 * @param uuid {@code metadata.name}
 * @param siderolink {@code spec.siderolink}; never null, its fields may be
 * @param metalMachineRef {@code spec.metalMachineRef}, or null
 * @param clusterName label {@code cluster.x-k8s.io/cluster-name}, or null
 * @param resourceVersion {@code metadata.resourceVersion}, or null (standalone)
 * @param conditions {@code status.conditions}, never null
 */
public record ServerBinding(String uuid, Siderolink siderolink, MetalMachineRef metalMachineRef, String clusterName, String resourceVersion,
        List<Condition> conditions) {

    public ServerBinding {
        if (siderolink == null) {
            siderolink = Siderolink.EMPTY;
        }
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
    }

    public ServerBinding(String uuid, Siderolink siderolink, MetalMachineRef metalMachineRef, String clusterName, String resourceVersion) {
        this(uuid, siderolink, metalMachineRef, clusterName, resourceVersion, List.of());
    }

    /** {@code spec.siderolink}: the node's tunnel address ({@code addr/64}) and its current public key. */
    public record Siderolink(String address, String publicKey) {
        public static final Siderolink EMPTY = new Siderolink(null, null);
    }

    /** {@code spec.metalMachineRef}. */
    public record MetalMachineRef(String namespace, String name) {}
}
