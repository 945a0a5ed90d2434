package dev.siderolink.server.events;

import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventResponse;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.siderolink.server.grpc.PeerAddress;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** {@code events.EventSinkService/Publish}: unary; the caller's address says which node it is. */
final class EventSinkService extends EventSinkServiceGrpc.EventSinkServiceImplBase {

    private final EventHandler handler;

    EventSinkService(EventHandler handler) {
        this.handler = handler;
    }

    @Override
    public void publish(EventRequest request, StreamObserver<EventResponse> response) {
        SocketAddress peer = PeerAddress.current();
        if (!(peer instanceof InetSocketAddress inet) || inet.getAddress() == null) {
            response.onError(Status.INVALID_ARGUMENT.withDescription("the event sink identifies nodes by their IP address").asRuntimeException());
            return;
        }
        handler.handle(inet, request).subscribe(
                null,
                error -> response.onError(Status.UNAVAILABLE.withDescription(error.getMessage()).asRuntimeException()),
                () -> {
                    response.onNext(EventResponse.getDefaultInstance());
                    response.onCompleted();
                });
    }
}
