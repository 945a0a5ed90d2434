package dev.siderolink.server.inventory;

/**
 * The fields of a MetalMachine ({@code infrastructure.cluster.x-k8s.io/v1alpha3}, namespaced) that
 * SideroLink reads.
 *
 * <p>No {@code resourceVersion} on purpose: the cache emits an event only when one of these fields
 * changes, so status-only updates of a MetalMachine (Sidero's controller writes them often) cause no
 * churn. Whoever writes a MetalMachine reads a fresh copy from the store's backend first.
 *
 * @param namespace {@code metadata.namespace}
 * @param name {@code metadata.name}
 * @param machineName the name in the first {@code metadata.ownerReferences} entry of kind {@code Machine}
 *     whose apiVersion is in group {@code cluster.x-k8s.io} (any version), or null
 */
public record MetalMachine(String namespace, String name, String machineName) {

    /** {@code namespace/name}, the key of a MetalMachine. */
    public record Key(String namespace, String name) {
        @Override
        public String toString() {
            return namespace + "/" + name;
        }
    }

    public Key key() {
        return new Key(namespace, name);
    }
}
