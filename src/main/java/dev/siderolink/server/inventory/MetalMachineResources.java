package dev.siderolink.server.inventory;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The MetalMachine resource shape, shared by both stores: which API it lives in, how our fields
 * ({@link MetalMachine}) and the mirrored status ({@link MetalMachineStatus}) are read out of a
 * {@link GenericKubernetesResource}, and how that status is written back. Sidero owns the
 * MetalMachine: writes touch {@code status.conditions} and {@code status.addresses} only.
 */
public final class MetalMachineResources {

    public static final String GROUP = "infrastructure.cluster.x-k8s.io";
    public static final String VERSION = "v1alpha3";
    public static final String KIND = "MetalMachine";
    public static final String API_VERSION = GROUP + "/" + VERSION;

    /** The Cluster API group of the Machine that owns a MetalMachine; every version of it counts. */
    public static final String MACHINE_GROUP = "cluster.x-k8s.io";
    public static final String MACHINE_KIND = "Machine";

    public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
            .withGroup(GROUP)
            .withVersion(VERSION)
            .withKind(KIND)
            .withPlural("metalmachines")
            .withNamespaced(true)
            .build();

    private MetalMachineResources() {}

    /**
     * Our fields of {@code resource}. Tolerates hand-written content: missing owner references, or
     * entries without kind, apiVersion or name, give a null {@code machineName}.
     *
     * @throws IllegalArgumentException when the resource has no metadata at all
     */
    public static MetalMachine toMetalMachine(GenericKubernetesResource resource) {
        ObjectMeta meta = resource.getMetadata();
        if (meta == null) {
            throw new IllegalArgumentException("MetalMachine without metadata");
        }
        return new MetalMachine(meta.getNamespace(), meta.getName(), machineName(meta.getOwnerReferences()));
    }

    /**
     * The mirrored part of the status: {@code status.conditions} (entries without a type skipped)
     * and {@code status.addresses} (entries without a string type and address skipped).
     */
    public static MetalMachineStatus toStatus(GenericKubernetesResource resource) {
        List<MetalMachineStatus.Address> addresses = new ArrayList<>();
        for (Map<?, ?> map : ResourceFields.mapsAt(resource, "status", "addresses")) {
            if (map.get("type") instanceof String type && map.get("address") instanceof String address) {
                addresses.add(new MetalMachineStatus.Address(type, address));
            }
        }
        return new MetalMachineStatus(ResourceFields.conditionsAt(resource, "status", "conditions"), addresses);
    }

    /** Sets {@code status.conditions} and {@code status.addresses} on {@code resource} in place; the rest stays. */
    public static void setStatus(GenericKubernetesResource resource, MetalMachineStatus status) {
        Map<String, Object> section = ResourceFields.section(resource, "status");
        section.put("conditions", ResourceFields.toMaps(status.conditions()));
        section.put("addresses", addressMaps(status.addresses()));
    }

    /**
     * The JSON merge patch body for the status subresource that replaces {@code status.conditions}
     * and {@code status.addresses}, guarded by {@code resourceVersion}.
     */
    public static Map<String, Object> statusPatch(MetalMachineStatus status, String resourceVersion) {
        Map<String, Object> fields = ResourceFields.fields("conditions", ResourceFields.toMaps(status.conditions()));
        fields.put("addresses", addressMaps(status.addresses()));
        return ResourceFields.guardedPatch(resourceVersion, "status", fields);
    }

    private static List<Map<String, Object>> addressMaps(List<MetalMachineStatus.Address> addresses) {
        return addresses.stream().map(a -> {
            Map<String, Object> map = new LinkedHashMap<>();
            map.put("type", a.type());
            map.put("address", a.address());
            return map;
        }).toList();
    }

    /** The name of the first owner of kind Machine in group {@code cluster.x-k8s.io}, or null. */
    static String machineName(List<OwnerReference> owners) {
        if (owners == null) {
            return null;
        }
        for (OwnerReference owner : owners) {
            if (owner != null && MACHINE_KIND.equals(owner.getKind()) && MACHINE_GROUP.equals(group(owner.getApiVersion()))
                    && owner.getName() != null && !owner.getName().isEmpty()) {
                return owner.getName();
            }
        }
        return null;
    }

    /** The group part of an apiVersion ({@code group/version}); the core group ({@code v1}) is "". */
    private static String group(String apiVersion) {
        if (apiVersion == null) {
            return null;
        }
        int slash = apiVersion.indexOf('/');
        return slash < 0 ? "" : apiVersion.substring(0, slash);
    }
}
