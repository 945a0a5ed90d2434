package dev.siderolink.server.talosapi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.talos.api.machine.Event;
import dev.talos.api.machine.EventsRequest;
import dev.talos.api.machine.MachineServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.yaml.snakeyaml.Yaml;

/**
 * A talosctl stand-in: it knows only what a talosconfig file holds (the current context's first
 * endpoint, its CA, client certificate and key), as talosctl does.
 */
final class TalosconfigClient implements AutoCloseable {

    private final ManagedChannel channel;
    final Map<String, Object> context;

    TalosconfigClient(String talosconfig) throws Exception {
        this(talosconfig, true);
    }

    /** With {@code presentCertificate} false, the client offers no certificate (trusting the CA still). */
    @SuppressWarnings("unchecked")
    TalosconfigClient(String talosconfig, boolean presentCertificate) throws Exception {
        Map<String, Object> root = new Yaml().load(talosconfig);
        String current = (String) root.get("context");
        context = ((Map<String, Map<String, Object>>) root.get("contexts")).get(current);
        String endpoint = ((List<String>) context.get("endpoints")).get(0);
        SslContextBuilder tls = GrpcSslContexts.forClient().trustManager(decoded("ca"));
        if (presentCertificate) {
            tls.keyManager(decoded("crt"), decoded("key"));
        }
        String target = endpoint.matches(".*:\\d+$") ? endpoint : endpoint + ":" + TalosApiIdentity.DEFAULT_PORT;
        channel = NettyChannelBuilder.forTarget(target).sslContext(tls.build()).build();
    }

    private ByteArrayInputStream decoded(String key) {
        return new ByteArrayInputStream(Base64.getDecoder().decode(((String) context.get(key)).getBytes(StandardCharsets.US_ASCII)));
    }

    /** Starts {@code Events} with metadata {@code key} → values (each a separate header value). */
    EventStream events(EventsRequest request, String key, String... values) {
        Metadata headers = new Metadata();
        for (String value : values) {
            headers.put(Metadata.Key.of(key, Metadata.ASCII_STRING_MARSHALLER), value);
        }
        EventStream stream = new EventStream();
        MachineServiceGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers)).events(request, stream);
        return stream;
    }

    EventStream events(EventsRequest request) {
        return events(request, -1);
    }

    /** With {@code initialRequest} ≥ 0 the client reads only that many events until {@link EventStream#request}. */
    EventStream events(EventsRequest request, int initialRequest) {
        EventStream stream = new EventStream(initialRequest);
        MachineServiceGrpc.newStub(channel).events(request, stream);
        return stream;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    /** The received events, in order; the end of the stream as a Status. */
    static final class EventStream implements ClientResponseObserver<EventsRequest, Event>, AutoCloseable {
        private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
        private final int initialRequest;
        private volatile ClientCallStreamObserver<EventsRequest> call;

        EventStream() {
            this(-1);
        }

        EventStream(int initialRequest) {
            this.initialRequest = initialRequest;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<EventsRequest> requestStream) {
            call = requestStream;
            if (initialRequest >= 0) {
                requestStream.disableAutoRequestWithInitial(initialRequest);
            }
        }

        void request(int count) {
            call.request(count);
        }

        @Override
        public void onNext(Event value) {
            received.add(value);
        }

        @Override
        public void onError(Throwable t) {
            received.add(Status.fromThrowable(t));
        }

        @Override
        public void onCompleted() {
            received.add(Status.OK);
        }

        /** The next event; fails if the stream ended or nothing came within 5 s. */
        Event next() throws InterruptedException {
            Object item = received.poll(5, TimeUnit.SECONDS);
            assertThat(item).as("next event within 5 s").isInstanceOf(Event.class);
            return (Event) item;
        }

        /** How the stream ended (waits up to 5 s). */
        Status end() throws InterruptedException {
            Object item = received.poll(5, TimeUnit.SECONDS);
            assertThat(item).as("end of the stream within 5 s").isInstanceOf(Status.class);
            return (Status) item;
        }

        @Override
        public void close() {
            call.cancel("test done", null);
        }
    }
}
