package dev.siderolink.server.logs;

import io.netty.channel.epoll.Epoll;
import dev.siderolink.server.grpc.PeerAddress;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/** Where the receivers listen, and the socket detail both need. */
record Listen(InetAddress address, int port) {

    /**
     * Whether IP_FREEBIND can be set: it lets a receiver bind the tunnel address before the
     * interface holds it (the {@code link} component may run in another container and add it
     * later); Netty's native epoll transport, which reactor-netty prefers on Linux, has the option.
     */
    static boolean canFreebind() {
        return Epoll.isAvailable();
    }

    String describe() {
        return PeerAddress.format(new InetSocketAddress(address, port));
    }

    /** A bind failure, worded so the start-up failure analyzer names the port and its property. */
    IllegalStateException bindFailure(String what, Throwable cause) {
        return new IllegalStateException("Failed to bind to address " + describe() + " (" + what + "): " + cause.getMessage(), cause);
    }
}
