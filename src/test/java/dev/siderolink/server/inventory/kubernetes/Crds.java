package dev.siderolink.server.inventory.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;

/**
 * Loads the project's CRDs ({@code classpath:crds/*.yaml}) into a Kubernetes API, typically the
 * fabric8 mock server, which honours the {@code /status} subresource only once a CRD declares it.
 */
public final class Crds {

    public static final List<String> RESOURCES = List.of("crds/serverbindings.yaml", "crds/metalmachines.yaml");

    private Crds() {}

    /**
     * A started fabric8 mock API server in CRUD mode answering through {@code dispatcher}, with the
     * project's CRDs loaded. Callers destroy it.
     */
    public static KubernetesMockServer crudServer(KubernetesCrudDispatcher dispatcher) {
        KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init();
        try (KubernetesClient setup = server.createClient()) {
            load(setup);
        }
        return server;
    }

    /** Creates every project CRD through {@code client}. */
    public static void load(KubernetesClient client) {
        for (String resource : RESOURCES) {
            try (InputStream in = Crds.class.getClassLoader().getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("CRD " + resource + " is not on the classpath");
                }
                client.apiextensions().v1().customResourceDefinitions().load(in).create();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
