package dev.siderolink.server.inventory;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ServerBinding resource shape, shared by both stores: reading our fields out of a
 * {@link GenericKubernetesResource} and writing {@code spec.siderolink} into one, leaving every
 * other field (Sidero's own spec, status, annotations) as it was.
 */
public final class ServerBindingResources {

    public static final String GROUP = "infrastructure.cluster.x-k8s.io";
    public static final String VERSION = "v1alpha3";
    public static final String KIND = "ServerBinding";
    public static final String API_VERSION = GROUP + "/" + VERSION;
    public static final String CLUSTER_NAME_LABEL = "cluster.x-k8s.io/cluster-name";

    public static final ResourceDefinitionContext CONTEXT = new ResourceDefinitionContext.Builder()
            .withGroup(GROUP)
            .withVersion(VERSION)
            .withKind(KIND)
            .withPlural("serverbindings")
            .withNamespaced(false)
            .build();

    private ServerBindingResources() {}

    public static ServerBinding toBinding(GenericKubernetesResource resource) {
        var meta = resource.getMetadata();
        String address = stringAt(resource, "spec", "siderolink", "address");
        String publicKey = stringAt(resource, "spec", "siderolink", "publicKey");
        String mmNamespace = stringAt(resource, "spec", "metalMachineRef", "namespace");
        String mmName = stringAt(resource, "spec", "metalMachineRef", "name");
        ServerBinding.MetalMachineRef ref = mmName == null ? null : new ServerBinding.MetalMachineRef(mmNamespace, mmName);
        String cluster = meta.getLabels() == null ? null : meta.getLabels().get(CLUSTER_NAME_LABEL);
        return new ServerBinding(meta.getName(), new ServerBinding.Siderolink(address, publicKey), ref, cluster, meta.getResourceVersion(),
                conditions(resource));
    }

    private static List<Condition> conditions(GenericKubernetesResource resource) {
        Object value;
        try {
            value = resource.get("status", "conditions");
        } catch (ClassCastException | IllegalArgumentException e) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            return List.of();
        }
        List<Condition> result = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof Map<?, ?> map && map.get("type") != null) {
                result.add(Condition.fromMap(map));
            }
        }
        return result;
    }

    /** Sets {@code status.conditions} on {@code resource} in place, keeping the rest of the status. */
    @SuppressWarnings("unchecked")
    public static void setConditions(GenericKubernetesResource resource, List<Condition> conditions) {
        Map<String, Object> status = (Map<String, Object>) resource.getAdditionalProperties()
                .computeIfAbsent("status", k -> new LinkedHashMap<String, Object>());
        status.put("conditions", conditions.stream().map(Condition::toMap).toList());
    }

    /** The JSON merge patch body that replaces {@code status.conditions}, guarded by {@code resourceVersion}. */
    public static Map<String, Object> conditionsPatch(List<Condition> conditions, String resourceVersion) {
        return guardedPatch(resourceVersion, "status", "conditions", conditions.stream().map(Condition::toMap).toList());
    }

    /** A new, empty binding as auto-accept creates it. */
    public static GenericKubernetesResource newBinding(String uuid) {
        GenericKubernetesResource resource = new GenericKubernetesResource();
        resource.setApiVersion(API_VERSION);
        resource.setKind(KIND);
        resource.setMetadata(new ObjectMetaBuilder().withName(uuid).build());
        resource.setAdditionalProperty("spec", new LinkedHashMap<String, Object>());
        return resource;
    }

    /** Sets {@code spec.siderolink} on {@code resource} in place, keeping other siderolink keys. */
    @SuppressWarnings("unchecked")
    public static void setSiderolink(GenericKubernetesResource resource, ServerBinding.Siderolink siderolink) {
        Map<String, Object> spec = (Map<String, Object>) resource.getAdditionalProperties()
                .computeIfAbsent("spec", k -> new LinkedHashMap<String, Object>());
        Map<String, Object> link = (Map<String, Object>) spec.computeIfAbsent("siderolink", k -> new LinkedHashMap<String, Object>());
        putOrRemove(link, "address", siderolink.address());
        putOrRemove(link, "publicKey", siderolink.publicKey());
    }

    /** The JSON merge patch body that sets {@code spec.siderolink}, guarded by {@code resourceVersion}. */
    public static Map<String, Object> siderolinkPatch(ServerBinding.Siderolink siderolink, String resourceVersion) {
        Map<String, Object> link = new LinkedHashMap<>();
        link.put("address", siderolink.address());
        link.put("publicKey", siderolink.publicKey());
        return guardedPatch(resourceVersion, "spec", "siderolink", link);
    }

    /**
     * {@code {metadata: {resourceVersion}, <section>: {<field>: value}}}: the API server refuses it
     * with 409 when the object changed since {@code resourceVersion} was read.
     */
    private static Map<String, Object> guardedPatch(String resourceVersion, String section, String field, Object value) {
        Map<String, Object> patch = new LinkedHashMap<>();
        if (resourceVersion != null) {
            patch.put("metadata", Map.of("resourceVersion", resourceVersion));
        }
        patch.put(section, Map.of(field, value));
        return patch;
    }

    private static void putOrRemove(Map<String, Object> map, String key, Object value) {
        if (value == null) {
            map.remove(key);
        } else {
            map.put(key, value);
        }
    }

    private static String stringAt(GenericKubernetesResource resource, Object... path) {
        Object value;
        try {
            value = resource.get(path);
        } catch (ClassCastException | IllegalArgumentException e) {
            return null; // a hand-written file with a scalar where we expect a map
        }
        return value instanceof String s && !s.isEmpty() ? s : null;
    }
}
