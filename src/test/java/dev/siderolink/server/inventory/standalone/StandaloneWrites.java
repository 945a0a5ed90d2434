package dev.siderolink.server.inventory.standalone;

import java.io.IOException;
import java.nio.file.Path;

/** The standalone store's durable file replace, for benchmarks outside this package. */
public final class StandaloneWrites {

    private final AtomicFiles files = new AtomicFiles();

    /** Replaces {@code target} exactly as the store replaces a binding or MetalMachine file. */
    public void replace(Path target, byte[] content) throws IOException {
        files.write(target, content, false);
    }
}
