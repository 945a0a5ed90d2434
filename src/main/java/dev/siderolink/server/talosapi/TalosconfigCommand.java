package dev.siderolink.server.talosapi;

import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.StandaloneProperties;
import dev.siderolink.server.config.StoreKind;
import dev.siderolink.server.config.TalosApiProperties;
import dev.siderolink.server.config.WireguardProperties;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.springframework.boot.Banner;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code java -jar siderolink-server.jar talosconfig [--out=<file>] [--nodes=a,b] [properties]}:
 * writes a talosconfig (new client certificate, signed by the installation's Talos API CA) to the
 * file, or to stdout. It reads the same properties as the server (command line, environment,
 * {@code application.yaml}) and the same state (the standalone directory or the Kubernetes
 * Secret), but starts nothing: no listener, no store watch, and it never creates a CA (the server
 * does that at its first start).
 */
public final class TalosconfigCommand {

    public static final String NAME = "talosconfig";

    private TalosconfigCommand() {}

    /**
     * Only the environment: property sources as the server sees them, no beans of ours. Not a
     * {@code @Configuration}, so the server's component scan leaves it alone.
     */
    static class Environment {}

    /** Runs the command; the process exit code (0 written, 1 failed, 64 usage). */
    public static int run(String[] args, PrintStream stdout, PrintStream stderr) {
        for (String arg : args) {
            if (!arg.startsWith("--")) {
                stderr.println("usage: talosconfig [--out=<file>] [--nodes=<node>,...] [--siderolink.<property>=<value> ...]");
                return 64;
            }
        }
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(Environment.class)
                .web(WebApplicationType.NONE)
                .bannerMode(Banner.Mode.OFF)
                .logStartupInfo(false)
                .properties("logging.level.root=warn", "spring.main.cloud-platform=none")
                .run(args)) {
            Binder binder = Binder.get(context.getEnvironment());
            SiderolinkProperties siderolink = binder.bindOrCreate("siderolink", SiderolinkProperties.class);
            WireguardProperties wireguard = binder.bindOrCreate("siderolink.wireguard", WireguardProperties.class);
            TalosApiProperties talosApi = binder.bindOrCreate("siderolink.talos-api", TalosApiProperties.class);
            Map<String, String> data = siderolink.store() == StoreKind.KUBERNETES
                    ? kubernetesSecret(siderolink.namespace())
                    : standaloneSecret(binder.bindOrCreate("siderolink.standalone", StandaloneProperties.class).dir());
            TalosPki.Issued ca = TalosPki.fromSecretData(data);
            TalosApiIdentity identity = new TalosApiIdentity(ca, TalosApiConfiguration.names(siderolink, wireguard, talosApi), talosApi.port(),
                    talosApi.role());
            List<String> nodes = List.of(context.getEnvironment().getProperty("nodes", "").split(",")).stream()
                    .map(String::trim).filter(s -> !s.isEmpty()).toList();
            String yaml = identity.talosconfig(nodes, new SecureRandom(), Clock.systemUTC());
            String out = context.getEnvironment().getProperty("out");
            if (out == null || out.isEmpty() || out.equals("-")) {
                stdout.print(yaml);
            } else {
                write(Path.of(out), yaml);
                stderr.println("wrote " + out + " (context " + Talosconfig.CONTEXT + ", endpoints " + identity.endpoints() + ")");
            }
            return 0;
        } catch (RuntimeException | IOException e) {
            stderr.println("talosconfig: " + e.getMessage());
            return 1;
        }
    }

    private static void write(Path file, String yaml) throws IOException {
        // the client key is a credential: owner-only from the start, replaced whole
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), ".talosconfig", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(temp, yaml, StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
            Files.move(temp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    static Map<String, String> standaloneSecret(Path dir) throws IOException {
        Path file = dir.resolve("secret-" + TalosPki.SECRET_NAME + ".yaml");
        if (!Files.exists(file)) {
            throw new IllegalStateException(file + " does not exist: start the server (serverevents) once to create the CA, "
                    + "or point siderolink.standalone.dir at its state directory");
        }
        return decode(new KubernetesSerialization().unmarshal(Files.readString(file), Secret.class), file.toString());
    }

    private static Map<String, String> kubernetesSecret(String namespace) {
        try (KubernetesClient client = new KubernetesClientBuilder().build()) {
            Secret secret = client.secrets().inNamespace(namespace).withName(TalosPki.SECRET_NAME).get();
            if (secret == null) {
                throw new IllegalStateException("Secret " + namespace + "/" + TalosPki.SECRET_NAME
                        + " does not exist: start the server (serverevents) once to create the CA, or set siderolink.namespace");
            }
            return decode(secret, "Secret " + namespace + "/" + TalosPki.SECRET_NAME);
        }
    }

    private static Map<String, String> decode(Secret secret, String where) {
        Map<String, String> result = new TreeMap<>();
        if (secret == null || secret.getData() == null) {
            throw new IllegalStateException(where + " has no data");
        }
        secret.getData().forEach((k, v) -> result.put(k, new String(Base64.getDecoder().decode(v.trim()), StandardCharsets.UTF_8)));
        return result;
    }
}
