package dev.siderolink.server.inventory;

/**
 * The fields of a MetalMachine ({@code infrastructure.cluster.x-k8s.io/v1alpha3}, namespaced) that
 * SideroLink reads.
 *
 * @param namespace {@code metadata.namespace}
 * @param name {@code metadata.name}
 * @param machineName the name in the {@code metadata.ownerReferences} entry of kind {@code Machine}
 *     whose apiVersion is in group {@code cluster.x-k8s.io}, or null
 * @param resourceVersion {@code metadata.resourceVersion}, or null (standalone)
 */
public record MetalMachine(String namespace, String name, String machineName, String resourceVersion) {

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
