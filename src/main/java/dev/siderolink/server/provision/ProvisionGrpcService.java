package dev.siderolink.server.provision;

import dev.siderolink.api.link.ProvisionRequest;
import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.api.link.ProvisionServiceGrpc;
import dev.siderolink.server.grpc.PeerAddress;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code sidero.link.ProvisionService}: adapts gRPC to {@link Provisioner}, logs each refusal once. */
public class ProvisionGrpcService extends ProvisionServiceGrpc.ProvisionServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(ProvisionGrpcService.class);
    private static final int MAX_LOGGED_UUID = 80;

    private final Provisioner provisioner;
    private final ProvisionMetrics metrics;

    public ProvisionGrpcService(Provisioner provisioner, ProvisionMetrics metrics) {
        this.provisioner = provisioner;
        this.metrics = metrics;
    }

    @Override
    public void provision(ProvisionRequest request, StreamObserver<ProvisionResponse> responseObserver) {
        long start = System.nanoTime();
        String peer = PeerAddress.format(PeerAddress.current());
        provisioner.provision(request).subscribe(
                response -> {
                    metrics.record(Status.Code.OK, System.nanoTime() - start);
                    log.debug("provisioned {} from {}: {}", printable(request.getNodeUuid()), peer, response.getNodeAddressPrefix());
                    responseObserver.onNext(response);
                    responseObserver.onCompleted();
                },
                error -> {
                    ProvisionRefusal refusal = (ProvisionRefusal) error;
                    metrics.record(refusal.code(), System.nanoTime() - start);
                    log.warn("provision refused: node_uuid={} peer={} status={} reason: {}",
                            printable(request.getNodeUuid()), peer, refusal.code(), refusal.reason());
                    responseObserver.onError(refusal.toStatus().asRuntimeException());
                });
    }

    /** Node input goes into logs: quote it, cut it, and escape control characters. */
    static String printable(String value) {
        String cut = value.length() > MAX_LOGGED_UUID ? value.substring(0, MAX_LOGGED_UUID) + "..." : value;
        StringBuilder out = new StringBuilder("\"");
        cut.codePoints().forEach(c -> {
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return out.append('"').toString();
    }
}
