package dev.siderolink.server.inventory.standalone;

/** Lets tests in other packages run a rescan now instead of waiting for the periodic one. */
public final class StandaloneStoreAccess {

    private StandaloneStoreAccess() {}

    public static void rescan(StandaloneResourceStore store) {
        store.rescan();
    }
}
