package dev.siderolink.server.talosapi;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * A talosconfig file as talosctl reads it: {@code context: <name>} and
 * {@code contexts.<name>.{endpoints, nodes, ca, crt, key}}, the last three base64 of PEM texts.
 * Each call signs a new client certificate.
 */
public final class Talosconfig {

    /** The context name written into every talosconfig. */
    public static final String CONTEXT = "siderolink";

    private Talosconfig() {}

    /** The YAML text for these endpoints (hosts without port), optional default nodes, and a new client certificate. */
    public static String generate(TalosPki.Issued ca, List<String> endpoints, List<String> nodes, String role, SecureRandom random, Clock clock) {
        TalosPki.Issued client = TalosPki.clientCertificate(ca, role, random, clock);
        Base64.Encoder b64 = Base64.getEncoder();
        Map<String, Object> context = new LinkedHashMap<>();
        context.put("endpoints", new ArrayList<>(endpoints));
        if (!nodes.isEmpty()) {
            context.put("nodes", new ArrayList<>(nodes));
        }
        context.put("ca", b64.encodeToString(ca.certificatePem().getBytes(StandardCharsets.US_ASCII)));
        context.put("crt", b64.encodeToString(client.certificatePem().getBytes(StandardCharsets.US_ASCII)));
        context.put("key", b64.encodeToString(client.keyPem().getBytes(StandardCharsets.US_ASCII)));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("context", CONTEXT);
        root.put("contexts", Map.of(CONTEXT, context));
        DumperOptions options = new DumperOptions();
        options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        options.setSplitLines(false);
        return new Yaml(options).dump(root);
    }
}
