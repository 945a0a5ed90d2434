package dev.siderolink.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import inet.ipaddr.ipv6.IPv6Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Makes the caller's socket address available to service code through the gRPC {@link Context}:
 * SideroLink identifies a node by its address, and refusals are logged with it.
 */
public final class PeerAddress implements ServerInterceptor {

    private static final Context.Key<SocketAddress> KEY = Context.key("siderolink-peer-address");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        return Contexts.interceptCall(Context.current().withValue(KEY, remote), call, headers, next);
    }

    /** The current call's peer, or null outside a call. */
    public static SocketAddress current() {
        return KEY.get();
    }

    /**
     * Formatted hosts, as every event a node sends is logged with its address; the compressed form
     * costs more than the rest of the line. Bounded: emptied when full (node addresses are few).
     */
    private static final Map<InetAddress, String> HOSTS = new ConcurrentHashMap<>();
    private static final int MAX_HOSTS = 4096;

    /** The address alone: compressed IPv6 (no zone, no brackets) or dotted IPv4. */
    public static String host(InetAddress ip) {
        String host = HOSTS.get(ip);
        if (host == null) {
            // from the bytes: no zone, no string parsing
            host = ip instanceof Inet6Address ? new IPv6Address(ip.getAddress()).toCompressedString() : ip.getHostAddress();
            if (HOSTS.size() >= MAX_HOSTS) {
                HOSTS.clear();
            }
            HOSTS.put(ip, host);
        }
        return host;
    }

    /** {@code [addr]:port} for IPv6, {@code addr:port} for IPv4, as the reference logs nodes. */
    public static String format(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            InetAddress ip = inet.getAddress();
            return (ip instanceof Inet6Address ? "[" + host(ip) + "]" : host(ip)) + ":" + inet.getPort();
        }
        return String.valueOf(address);
    }
}
