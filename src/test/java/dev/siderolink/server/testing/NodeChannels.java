package dev.siderolink.server.testing;

import io.grpc.Attributes;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** gRPC channels whose calls come from a node's tunnel address, as a Talos node's do through its tunnel. */
public final class NodeChannels {

    private NodeChannels() {}

    /** Plaintext HTTP/2 to {@code target}, every connection bound to {@code node} (which must be on a local interface). */
    public static ManagedChannel from(InetAddress node, InetSocketAddress target) {
        return NettyChannelBuilder.forAddress(target)
                .usePlaintext()
                .localSocketPicker(new NettyChannelBuilder.LocalSocketPicker() {
                    @Override
                    public SocketAddress createSocketAddress(SocketAddress remote, Attributes attrs) {
                        return new InetSocketAddress(node, 0);
                    }
                })
                .build();
    }
}
