package dev.siderolink.server.chart;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The chart in {@code charts/siderolink-server} rendered by real Helm ({@code helm template}
 * through helm-java's native library), parsed into fabric8 model objects.
 */
public final class RenderedChart {

    /** The chart's directory; Maven runs tests in the project directory. */
    public static final Path CHART = Path.of(System.getProperty("basedir", "."), "charts", "siderolink-server");
    public static final String RELEASE = "siderolink-server";
    public static final String NAMESPACE = "sidero-system";
    public static final String ENDPOINT = "203.0.113.10";

    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    public final String yaml;
    public final List<HasMetadata> objects;

    private RenderedChart(String yaml) {
        this.yaml = yaml;
        this.objects = parse(yaml);
    }

    /** {@code helm template} with the endpoint set (the one required value) and {@code values} (YAML) on top. */
    public static RenderedChart render(String values) {
        return renderRaw("wireguard:\n  endpoint: " + ENDPOINT + "\n", values);
    }

    /** {@code helm template} with only the given values files' contents (YAML, applied in order). */
    public static RenderedChart renderRaw(String... values) {
        try {
            TemplateCommand template = new Helm(CHART).template().withName(RELEASE).withNamespace(NAMESPACE);
            for (String file : values) {
                if (file != null && !file.isBlank()) {
                    Path path = Files.createTempFile("values", ".yaml");
                    path.toFile().deleteOnExit();
                    Files.writeString(path, file);
                    template = template.withValuesFile(path);
                }
            }
            return new RenderedChart(template.call());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The objects of a multi-document YAML text, as fabric8 model classes. */
    static List<HasMetadata> parse(String yaml) {
        List<HasMetadata> result = new ArrayList<>();
        for (String document : yaml.split("(?m)^---\\s*$")) {
            boolean empty = document.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"));
            if (!empty) {
                result.add(SERIALIZATION.unmarshal(document, HasMetadata.class));
            }
        }
        return result;
    }

    public <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    public <T extends HasMetadata> T one(Class<T> type) {
        List<T> found = all(type);
        if (found.size() != 1) {
            throw new AssertionError("expected one " + type.getSimpleName() + ", rendered " + found.size());
        }
        return found.get(0);
    }

    public <T extends HasMetadata> Optional<T> named(Class<T> type, String name) {
        return all(type).stream().filter(o -> name.equals(o.getMetadata().getName())).findFirst();
    }

    public Deployment deployment() {
        return one(Deployment.class);
    }

    public Container container(String name) {
        return deployment().getSpec().getTemplate().getSpec().getContainers().stream()
                .filter(c -> name.equals(c.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    public Service service(String suffix) {
        return named(Service.class, RELEASE + "-" + suffix).orElseThrow(() -> new AssertionError("no Service " + RELEASE + "-" + suffix));
    }

    public ClusterRole clusterRole() {
        return one(ClusterRole.class);
    }

    public Role role() {
        return one(Role.class);
    }

    /**
     * A container's environment as the kubelet would give it: literal values, and values from
     * the Secrets the chart renders ({@code secretKeyRef}) or from {@code existingSecrets}
     * (name → key → value). Any other source fails: the tests would not know its value.
     */
    public Map<String, String> env(String container, Map<String, Map<String, String>> existingSecrets) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar var : container(container).getEnv()) {
            if (var.getValueFrom() == null) {
                env.put(var.getName(), var.getValue() == null ? "" : var.getValue());
            } else if (var.getValueFrom().getSecretKeyRef() != null) {
                String secret = var.getValueFrom().getSecretKeyRef().getName();
                String key = var.getValueFrom().getSecretKeyRef().getKey();
                String value = named(Secret.class, secret)
                        .map(s -> new String(Base64.getDecoder().decode(s.getData().get(key)), StandardCharsets.UTF_8))
                        .orElseGet(() -> existingSecrets.getOrDefault(secret, Map.of()).get(key));
                if (value == null) {
                    throw new AssertionError("env " + var.getName() + " of " + container + ": no key " + key + " in Secret " + secret);
                }
                env.put(var.getName(), value);
            } else {
                throw new AssertionError("env " + var.getName() + " of " + container + " comes from " + var.getValueFrom());
            }
        }
        return env;
    }

    public Map<String, String> env(String container) {
        return env(container, Map.of());
    }

    @Override
    public String toString() {
        return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).collect(Collectors.joining(", "));
    }
}
