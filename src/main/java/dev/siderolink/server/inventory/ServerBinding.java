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
 * @param addresses {@code spec.addresses} (the node's reported addresses), or null when absent
 * @param hostname {@code spec.hostname} (the node's reported hostname), or null when absent
 */
public record ServerBinding(String uuid, Siderolink siderolink, MetalMachineRef metalMachineRef, String clusterName, String resourceVersion,
        List<Condition> conditions, List<String> addresses, String hostname) {

    public ServerBinding {
        if (siderolink == null) {
            siderolink = Siderolink.EMPTY;
        }
        conditions = conditions == null ? List.of() : List.copyOf(conditions);
        addresses = addresses == null ? null : List.copyOf(addresses);
    }

    public ServerBinding(String uuid, Siderolink siderolink, MetalMachineRef metalMachineRef, String clusterName, String resourceVersion,
            List<Condition> conditions) {
        this(uuid, siderolink, metalMachineRef, clusterName, resourceVersion, conditions, null, null);
    }

    public ServerBinding(String uuid, Siderolink siderolink, MetalMachineRef metalMachineRef, String clusterName, String resourceVersion) {
        this(uuid, siderolink, metalMachineRef, clusterName, resourceVersion, List.of());
    }

    /** What the node's events decide on this binding: conditions, addresses and hostname. */
    public NodeReport report() {
        return new NodeReport(conditions, addresses, hostname);
    }

    /** This binding with {@code report} in place of its conditions, addresses and hostname. */
    public ServerBinding withReport(NodeReport report) {
        return new ServerBinding(uuid, siderolink, metalMachineRef, clusterName, resourceVersion, report.conditions(), report.addresses(),
                report.hostname());
    }

    /** {@code spec.siderolink}: the node's tunnel address ({@code addr/64}) and its current public key. */
    public record Siderolink(String address, String publicKey) {
        public static final Siderolink EMPTY = new Siderolink(null, null);
    }

    /** {@code spec.metalMachineRef}. */
    public record MetalMachineRef(String namespace, String name) {}

    /** The key of the MetalMachine {@code binding} names, or null when it names none. */
    public static MetalMachine.Key metalMachineKey(ServerBinding binding) {
        MetalMachineRef ref = binding.metalMachineRef();
        return ref == null || ref.name() == null ? null : new MetalMachine.Key(ref.namespace(), ref.name());
    }
}
