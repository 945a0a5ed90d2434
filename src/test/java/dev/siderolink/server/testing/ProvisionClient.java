package dev.siderolink.server.testing;

import dev.siderolink.api.link.ProvisionRequest;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.api.link.ProvisionServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

/** A Talos-like Provision client: a real Netty channel, plaintext HTTP/2 with prior knowledge (no ALPN). */
public final class ProvisionClient implements AutoCloseable {

    private static final SecureRandom RANDOM = new SecureRandom();
    private final ManagedChannel channel;

    public ProvisionClient(String host, int port) {
        channel = NettyChannelBuilder.forAddress(host, port).usePlaintext().build();
    }

    public ProvisionResponse provision(ProvisionRequest request) {
        return ProvisionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).provision(request);
    }

    public ProvisionServiceGrpc.ProvisionServiceFutureStub futureStub() {
        return ProvisionServiceGrpc.newFutureStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    /** A request as Talos >= 1.6 sends it (unique token present but empty, version set). */
    public static ProvisionRequest.Builder request(String uuid, String publicKey) {
        return ProvisionRequest.newBuilder()
                .setNodeUuid(uuid)
                .setNodePublicKey(publicKey)
                .setNodeUniqueToken("")
                .setTalosVersion("v1.11.0");
    }

    /** A fresh node public key (any 32 bytes are a valid public key on the wire). */
    public static String newKey() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
