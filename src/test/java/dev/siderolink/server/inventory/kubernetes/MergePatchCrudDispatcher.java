package dev.siderolink.server.inventory.kubernetes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.crud.KubernetesCrudDispatcherException;
import java.util.Iterator;
import java.util.Map;

/**
 * The fabric8 CRUD mock with JSON merge patches applied as a real API server does (RFC 7386): a
 * list in the patch replaces the stored list, and null removes the key. The stock mock updates the
 * stored JSON with Jackson instead, which appends list items (a condition list patched twice holds
 * its items twice) and stores nulls.
 */
public class MergePatchCrudDispatcher extends KubernetesCrudDispatcher {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Override
    public JsonNode merge(JsonNode source, String patch) throws KubernetesCrudDispatcherException {
        try {
            return apply(source, MAPPER.readTree(patch));
        } catch (JsonProcessingException e) {
            throw new KubernetesCrudDispatcherException(e.getMessage(), 422);
        }
    }

    static JsonNode apply(JsonNode target, JsonNode patch) {
        if (!patch.isObject()) {
            return patch.deepCopy();
        }
        ObjectNode result = target != null && target.isObject() ? ((ObjectNode) target).deepCopy() : JsonNodeFactory.instance.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> fields = patch.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (field.getValue().isNull()) {
                result.remove(field.getKey());
            } else {
                result.set(field.getKey(), apply(result.get(field.getKey()), field.getValue()));
            }
        }
        return result;
    }
}
