package dev.siderolink.server.testing;

import net.devh.boot.grpc.server.event.GrpcServerStartedEvent;
import org.springframework.context.event.EventListener;

/** The port the gRPC starter's server really bound (tests run it on port 0). */
public class GrpcPort {

    private volatile int port = -1;

    @EventListener
    void onStarted(GrpcServerStartedEvent event) {
        port = event.getPort();
    }

    public int get() {
        if (port < 0) {
            throw new IllegalStateException("gRPC server not started");
        }
        return port;
    }
}
