package dev.siderolink.server.inventory;

import static dev.siderolink.server.inventory.ResourceFields.child;
import static dev.siderolink.server.inventory.ResourceFields.conditionsAt;
import static dev.siderolink.server.inventory.ResourceFields.fields;
import static dev.siderolink.server.inventory.ResourceFields.guardedPatch;
import static dev.siderolink.server.inventory.ResourceFields.putOrRemove;
import static dev.siderolink.server.inventory.ResourceFields.section;
import static dev.siderolink.server.inventory.ResourceFields.stringAt;
import static dev.siderolink.server.inventory.ResourceFields.stringsAt;
import static dev.siderolink.server.inventory.ResourceFields.toMaps;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ServerBinding resource shape, shared by both stores: reading our fields out of a
 * {@link GenericKubernetesResource} and writing ours ({@code spec.siderolink}, {@code spec.addresses},
 * {@code spec.hostname}, {@code status.conditions}) into one, leaving every other field (Sidero's own
 * spec, the rest of the status, annotations) as it was.
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

    /**
     * Our fields of {@code resource}. Tolerates hand-written shapes: a scalar where a map belongs
     * reads as absent; {@code spec.addresses} that is not a list reads as null, and its non-string
     * items are skipped.
     */
    public static ServerBinding toBinding(GenericKubernetesResource resource) {
        var meta = resource.getMetadata();
        String address = stringAt(resource, "spec", "siderolink", "address");
        String publicKey = stringAt(resource, "spec", "siderolink", "publicKey");
        String mmNamespace = stringAt(resource, "spec", "metalMachineRef", "namespace");
        String mmName = stringAt(resource, "spec", "metalMachineRef", "name");
        ServerBinding.MetalMachineRef ref = mmName == null ? null : new ServerBinding.MetalMachineRef(mmNamespace, mmName);
        String cluster = meta.getLabels() == null ? null : meta.getLabels().get(CLUSTER_NAME_LABEL);
        return new ServerBinding(meta.getName(), new ServerBinding.Siderolink(address, publicKey), ref, cluster, meta.getResourceVersion(),
                conditionsAt(resource, "status", "conditions"), stringsAt(resource, "spec", "addresses"), stringAt(resource, "spec", "hostname"));
    }

    /** Sets {@code status.conditions} on {@code resource} in place, keeping the rest of the status. */
    public static void setConditions(GenericKubernetesResource resource, List<Condition> conditions) {
        section(resource, "status").put("conditions", toMaps(conditions));
    }

    /** The JSON merge patch body that replaces {@code status.conditions}, guarded by {@code resourceVersion}. */
    public static Map<String, Object> conditionsPatch(List<Condition> conditions, String resourceVersion) {
        return guardedPatch(resourceVersion, "status", fields("conditions", toMaps(conditions)));
    }

    /**
     * Sets {@code report} on {@code resource} in place: {@code status.conditions}, {@code spec.addresses}
     * and {@code spec.hostname} (a null one removes its key); the rest of spec and status stays.
     */
    public static void setReport(GenericKubernetesResource resource, NodeReport report) {
        Map<String, Object> spec = section(resource, "spec");
        putOrRemove(spec, "addresses", report.addresses());
        putOrRemove(spec, "hostname", report.hostname());
        setConditions(resource, report.conditions());
    }

    /**
     * The JSON merge patch body that sets the spec part of {@code report} ({@code spec.addresses},
     * {@code spec.hostname}; null removes), guarded by {@code resourceVersion}.
     */
    public static Map<String, Object> reportSpecPatch(NodeReport report, String resourceVersion) {
        Map<String, Object> spec = fields("addresses", report.addresses());
        spec.put("hostname", report.hostname());
        return guardedPatch(resourceVersion, "spec", spec);
    }

    /** The JSON merge patch body for the status subresource with the status part of {@code report}, guarded by {@code resourceVersion}. */
    public static Map<String, Object> reportStatusPatch(NodeReport report, String resourceVersion) {
        return conditionsPatch(report.conditions(), resourceVersion);
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
    public static void setSiderolink(GenericKubernetesResource resource, ServerBinding.Siderolink siderolink) {
        Map<String, Object> link = child(section(resource, "spec"), "siderolink");
        putOrRemove(link, "address", siderolink.address());
        putOrRemove(link, "publicKey", siderolink.publicKey());
    }

    /** The JSON merge patch body that sets {@code spec.siderolink}, guarded by {@code resourceVersion}. */
    public static Map<String, Object> siderolinkPatch(ServerBinding.Siderolink siderolink, String resourceVersion) {
        Map<String, Object> link = new LinkedHashMap<>();
        link.put("address", siderolink.address());
        link.put("publicKey", siderolink.publicKey());
        return guardedPatch(resourceVersion, "spec", fields("siderolink", link));
    }
}
