package dev.siderolink.server.inventory;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading and writing fields of a {@link GenericKubernetesResource} the way both resource shapes
 * need it: reads tolerate hand-written content (a scalar where a map or list belongs reads as
 * absent, bad list items are skipped), writes change only the keys they name.
 */
final class ResourceFields {

    private ResourceFields() {}

    /** The value at {@code path}, or null when absent or when the shape on the way is not what it should be. */
    static Object valueAt(GenericKubernetesResource resource, Object... path) {
        try {
            return resource.get(path);
        } catch (ClassCastException | IllegalArgumentException | IndexOutOfBoundsException e) {
            return null; // a hand-written file with a scalar where we expect a map
        }
    }

    /** A non-empty string at {@code path}, else null. */
    static String stringAt(GenericKubernetesResource resource, Object... path) {
        return valueAt(resource, path) instanceof String s && !s.isEmpty() ? s : null;
    }

    /** The strings of the list at {@code path} (other items skipped), or null when there is no list. */
    static List<String> stringsAt(GenericKubernetesResource resource, Object... path) {
        if (!(valueAt(resource, path) instanceof List<?> list)) {
            return null;
        }
        List<String> result = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof String s) {
                result.add(s);
            }
        }
        return result;
    }

    /** The maps of the list at {@code path} (other items skipped); empty when there is no list. */
    static List<Map<?, ?>> mapsAt(GenericKubernetesResource resource, Object... path) {
        if (!(valueAt(resource, path) instanceof List<?> list)) {
            return List.of();
        }
        List<Map<?, ?>> result = new ArrayList<>();
        for (Object item : list) {
            if (item instanceof Map<?, ?> map) {
                result.add(map);
            }
        }
        return result;
    }

    /** The conditions at {@code path}: entries without a type are skipped. */
    static List<Condition> conditionsAt(GenericKubernetesResource resource, Object... path) {
        List<Condition> result = new ArrayList<>();
        for (Map<?, ?> map : mapsAt(resource, path)) {
            if (map.get("type") != null) {
                result.add(Condition.fromMap(map));
            }
        }
        return result;
    }

    static List<Map<String, Object>> toMaps(List<Condition> conditions) {
        return conditions.stream().map(Condition::toMap).toList();
    }

    /**
     * The top-level map {@code name} ({@code spec}, {@code status}) of {@code resource}, created
     * when absent; a value that is not a map (possible only in a hand-written file) is replaced.
     */
    @SuppressWarnings("unchecked")
    static Map<String, Object> section(GenericKubernetesResource resource, String name) {
        Object value = resource.getAdditionalProperties().get(name);
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        Map<String, Object> fresh = new LinkedHashMap<>();
        resource.setAdditionalProperty(name, fresh);
        return fresh;
    }

    /** The map under {@code key} in {@code parent}, created (or replacing a non-map value) when needed. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> child(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        if (value instanceof Map<?, ?> map) {
            return (Map<String, Object>) map;
        }
        Map<String, Object> fresh = new LinkedHashMap<>();
        parent.put(key, fresh);
        return fresh;
    }

    static void putOrRemove(Map<String, Object> map, String key, Object value) {
        if (value == null) {
            map.remove(key);
        } else {
            map.put(key, value);
        }
    }

    /**
     * {@code {metadata: {resourceVersion}, <section>: fields}} as a JSON merge patch: the API server
     * refuses it with 409 when the object changed since {@code resourceVersion} was read. A null
     * value in {@code fields} removes that key.
     */
    static Map<String, Object> guardedPatch(String resourceVersion, String section, Map<String, Object> fields) {
        Map<String, Object> patch = new LinkedHashMap<>();
        if (resourceVersion != null) {
            patch.put("metadata", Map.of("resourceVersion", resourceVersion));
        }
        patch.put(section, fields);
        return patch;
    }

    /** A map that keeps null values (merge patch removals) and insertion order. */
    static Map<String, Object> fields(String key, Object value) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(key, value);
        return map;
    }
}
