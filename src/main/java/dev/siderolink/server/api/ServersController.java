package dev.siderolink.server.api;

import dev.siderolink.server.config.ApiProperties;
import dev.siderolink.server.config.EventsProperties;
import dev.siderolink.server.config.LogsProperties;
import dev.siderolink.server.config.ProvisionProperties;
import dev.siderolink.server.config.SiderolinkProperties;
import dev.siderolink.server.config.WireguardProperties;
import dev.siderolink.server.history.Entry;
import dev.siderolink.server.history.Kind;
import dev.siderolink.server.history.ServerHistories;
import dev.siderolink.server.installation.InstallationIdentity;
import dev.siderolink.server.installation.SiderolinkNetwork;
import dev.siderolink.server.inventory.Condition;
import dev.siderolink.server.inventory.ResourceStore;
import dev.siderolink.server.inventory.ServerBinding;
import dev.siderolink.server.provision.AdvertisedEndpoints;
import dev.siderolink.server.startup.StartupProblem;
import dev.siderolink.server.wireguard.Connectivity;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The HTTP API on {@code server.port} (docs/api.md): the servers the installation knows, their
 * kernel log and event history as JSON lines (optionally followed), and the kernel arguments a
 * node needs.
 */
@RestController
@RequestMapping("/api/v1")
class ServersController {

    static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson");
    /** Lines of a followed stream are flushed in batches of at most this many, or after {@link #FLUSH_AFTER}. */
    private static final int FLUSH_LINES = 256;
    private static final Duration FLUSH_AFTER = Duration.ofMillis(50);

    private final ResourceStore store;
    private final ServerHistories histories;
    private final ObjectProvider<Connectivity> connectivity;
    private final InstallationIdentity identity;
    private final KernelArgsSettings settings;

    /** What the kernel arguments are made of. */
    record KernelArgsSettings(ApiProperties api, LogsProperties logs, EventsProperties events, ProvisionProperties provision,
            WireguardProperties wireguard, SiderolinkProperties siderolink) {}

    ServersController(ResourceStore store, ServerHistories histories, ObjectProvider<Connectivity> connectivity, InstallationIdentity identity,
            ApiProperties api, LogsProperties logs, EventsProperties events, ProvisionProperties provision, WireguardProperties wireguard,
            SiderolinkProperties siderolink) {
        this.store = store;
        this.histories = histories;
        this.connectivity = connectivity;
        this.identity = identity;
        this.settings = new KernelArgsSettings(api, logs, events, provision, wireguard, siderolink);
    }

    /** A server as the API shows it. */
    record ServerView(String uuid, String tunnelAddress, String publicKey, String hostname, List<String> addresses, String cluster,
            List<Condition> conditions, Link link) {}

    /**
     * The WireGuard link as this process sees it; null when the {@code link} component does not run
     * here, or the server has no peer.
     */
    record Link(boolean connected, Instant lastHandshake, String endpoint, long receivedBytes, long sentBytes) {}

    @GetMapping("/servers")
    List<ServerView> servers() {
        return store.bindings().stream().sorted(Comparator.comparing(ServerBinding::uuid)).map(this::view).toList();
    }

    @GetMapping("/servers/{uuid}")
    ServerView server(@PathVariable String uuid) {
        return view(binding(uuid));
    }

    @GetMapping("/servers/{uuid}/logs")
    Mono<Void> logs(@PathVariable String uuid, @RequestParam(required = false) String tail, @RequestParam(required = false) String follow,
            ServerHttpResponse response) {
        return lines(Kind.LOGS, uuid, tail, follow, response);
    }

    @GetMapping("/servers/{uuid}/events")
    Mono<Void> events(@PathVariable String uuid, @RequestParam(required = false) String tail, @RequestParam(required = false) String follow,
            ServerHttpResponse response) {
        return lines(Kind.EVENTS, uuid, tail, follow, response);
    }

    private Mono<Void> lines(Kind kind, String uuid, String tailParam, String followParam, ServerHttpResponse response) {
        int tail = tail(tailParam);
        boolean follow = follow(followParam);
        binding(uuid);
        response.getHeaders().setContentType(NDJSON);
        DataBufferFactory buffers = response.bufferFactory();
        Flux<Entry> entries = histories.read(kind, uuid, tail, follow);
        // Each batch is one write and one flush: a followed stream shows a line within FLUSH_AFTER.
        Flux<Flux<DataBuffer>> batches = entries.bufferTimeout(FLUSH_LINES, FLUSH_AFTER, true)
                .map(batch -> Flux.fromIterable(batch).map(e -> buffers.wrap(e.line())));
        if (follow) {
            // Headers go out at once, not with the first line: a follower sees the stream is open (and curl -i shows it).
            batches = batches.startWith(Flux.just(buffers.wrap(new byte[0])));
        }
        return response.writeAndFlushWith(batches);
    }

    @GetMapping("/kernel-args")
    Map<String, Object> kernelArgs() {
        String prefixHost = "[" + identity.network().serverAddress().withoutPrefixLength().toCompressedString() + "]";
        String api;
        String note = null;
        try {
            String endpoint = AdvertisedEndpoints.preferred(settings.wireguard(), settings.siderolink().store()).get(0);
            api = endpoint.substring(0, endpoint.lastIndexOf(':')) + ":" + settings.api().port();
        } catch (StartupProblem e) {
            api = "<host>:" + settings.api().port();
            note = "siderolink.wireguard.endpoint is not set: replace <host> by an address of this server that nodes reach";
        }
        boolean token = settings.provision().requiresJoinToken();
        if (token) {
            // This endpoint needs no credentials: it never shows the token, only where it goes.
            api += "?jointoken=<join-token>";
            note = (note == null ? "" : note + "; ") + "Provision requires the join token (siderolink.provision.join-token): replace <join-token> by it";
        }
        Map<String, String> args = new LinkedHashMap<>();
        args.put("siderolink.api", api);
        args.put("talos.logging.kernel", "tcp://" + prefixHost + ":" + settings.logs().port());
        args.put("talos.events.sink", prefixHost + ":" + settings.events().port());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("kernelArgs", String.join(" ", args.entrySet().stream().map(a -> a.getKey() + "=" + a.getValue()).toList()));
        body.put("args", args);
        body.put("joinTokenRequired", token);
        if (note != null) {
            body.put("note", note);
        }
        return body;
    }

    private ServerBinding binding(String uuid) {
        return store.binding(uuid).orElseThrow(() -> new ApiException(HttpStatus.NOT_FOUND, "no server binding named " + uuid, null));
    }

    private ServerView view(ServerBinding binding) {
        String address = binding.siderolink().address() == null ? null
                : SiderolinkNetwork.parseStored(binding.siderolink().address()).map(a -> a.withoutPrefixLength().toCompressedString()).orElse(null);
        Connectivity links = connectivity.getIfAvailable();
        Link link = null;
        if (links != null) {
            Connectivity.PeerStatus peer = links.peers().get(binding.uuid());
            if (peer != null) {
                link = new Link(peer.connected(), peer.lastHandshake(), peer.endpoint(), peer.rxBytes(), peer.txBytes());
            }
        }
        return new ServerView(binding.uuid(), address, binding.siderolink().publicKey(), binding.hostname(), binding.addresses(),
                binding.clusterName(), binding.conditions(), link);
    }

    static int tail(String value) {
        if (value == null || value.isEmpty()) {
            return -1;
        }
        try {
            int tail = Integer.parseInt(value.trim());
            if (tail >= 0) {
                return tail;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new ApiException(HttpStatus.BAD_REQUEST, "tail must be a whole number of lines, 0 or more, not \"" + value + "\"", "tail");
    }

    static boolean follow(String value) {
        if (value == null || value.isEmpty()) {
            return false;
        }
        if (value.equalsIgnoreCase("true")) {
            return true;
        }
        if (value.equalsIgnoreCase("false")) {
            return false;
        }
        throw new ApiException(HttpStatus.BAD_REQUEST, "follow must be true or false, not \"" + value + "\"", "follow");
    }

    @ExceptionHandler(ApiException.class)
    ResponseEntity<Map<String, Object>> failed(ApiException e) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", e.getMessage());
        body.put("status", e.status.value());
        if (e.parameter != null) {
            body.put("parameter", e.parameter);
        }
        return ResponseEntity.status(e.status).contentType(MediaType.APPLICATION_JSON).body(body);
    }

    /** A request the API answers with an error status and a JSON body. */
    static final class ApiException extends RuntimeException {
        final HttpStatus status;
        final String parameter;

        ApiException(HttpStatus status, String message, String parameter) {
            super(message, null, false, false);
            this.status = status;
            this.parameter = parameter;
        }
    }
}
