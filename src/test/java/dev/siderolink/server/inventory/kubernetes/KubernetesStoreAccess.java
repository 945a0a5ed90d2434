package dev.siderolink.server.inventory.kubernetes;

/** Lets tests in other packages wait for the store's watches, which the mock needs before changes. */
public final class KubernetesStoreAccess {

    private KubernetesStoreAccess() {}

    public static boolean isWatching(KubernetesResourceStore store) {
        return store.isWatching();
    }
}
