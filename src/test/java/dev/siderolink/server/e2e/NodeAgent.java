package dev.siderolink.server.e2e;

import dev.siderolink.api.link.ProvisionResponse;
import dev.siderolink.server.testing.ProvisionClient;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a Talos node does on the wire, as a tiny program run inside the node's network namespace
 * ({@code ip netns exec}): Provision over the normal network, then UDP and TCP to the server's
 * tunnel address, and events to its sink (plaintext gRPC, as Talos publishes them). One action per
 * run; results on stdout as {@code key=value} lines.
 *
 * <pre>
 * provision   &lt;host&gt; &lt;port&gt; &lt;uuid&gt; &lt;public key&gt;
 * udp | tcp   &lt;address&gt; &lt;port&gt; &lt;message&gt;...           one datagram / one line per message
 * event       &lt;address&gt; &lt;port&gt; &lt;sequence:action&gt; &lt;id&gt;  one SequenceEvent
 * boot-events &lt;address&gt; &lt;port&gt; install|boot &lt;hostname&gt; &lt;address,...&gt;   see {@link BootEvents}
 * </pre>
 */
public final class NodeAgent {

    private NodeAgent() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "provision" -> provision(args[1], Integer.parseInt(args[2]), args[3], args[4]);
            case "udp" -> udp(args[1], Integer.parseInt(args[2]), java.util.Arrays.copyOfRange(args, 3, args.length));
            case "tcp" -> tcp(args[1], Integer.parseInt(args[2]), java.util.Arrays.copyOfRange(args, 3, args.length));
            case "event" -> event(args[1], Integer.parseInt(args[2]), args[3], args[4]);
            case "boot-events" -> System.exit(BootEvents.publish(args[1], Integer.parseInt(args[2]), args[3], args[4],
                    List.of(args[5].split(","))) ? 0 : 1);
            default -> throw new IllegalArgumentException("unknown action " + args[0]);
        }
    }

    private static void provision(String host, int port, String uuid, String publicKey) throws Exception {
        try (ProvisionClient client = new ProvisionClient(host, port)) {
            ProvisionResponse response = client.provision(ProvisionClient.request(uuid, publicKey).build());
            // Talos >= 1.6: swap first and last, then try in order
            var endpoints = new java.util.ArrayList<>(response.getServerEndpointList());
            java.util.Collections.swap(endpoints, 0, endpoints.size() - 1);
            System.out.println("endpoint=" + endpoints.get(0));
            System.out.println("serverKey=" + response.getServerPublicKey());
            System.out.println("serverAddress=" + response.getServerAddress());
            System.out.println("nodeAddress=" + response.getNodeAddressPrefix());
        }
    }

    /** One datagram per message, from one socket (as Talos' connected UDP socket). */
    private static void udp(String address, int port, String... messages) throws Exception {
        try (DatagramSocket socket = new DatagramSocket()) {
            for (String message : messages) {
                byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(bytes, bytes.length, InetAddress.getByName(address), port));
            }
        }
    }

    /** One line per message, on one connection. */
    private static void tcp(String address, int port, String... messages) throws Exception {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getByName(address), port), 3000);
            OutputStream out = socket.getOutputStream();
            for (String message : messages) {
                out.write((message + "\n").getBytes(StandardCharsets.UTF_8));
            }
            out.flush();
        }
    }

    /** Publishes one SequenceEvent ({@code sequence:action}, e.g. {@code boot:START}) with id {@code id}; prints the gRPC status. */
    private static void event(String address, int port, String sequenceAction, String id) throws Exception {
        String[] parts = sequenceAction.split(":");
        var payload = dev.talos.api.machine.SequenceEvent.newBuilder().setSequence(parts[0])
                .setAction(dev.talos.api.machine.SequenceEvent.Action.valueOf(parts[1])).build();
        var channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getByName(address), port))
                .usePlaintext().build();
        try {
            dev.siderolink.api.events.EventSinkServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
                    .publish(dev.siderolink.api.events.EventRequest.newBuilder().setId(id)
                            .setData(com.google.protobuf.Any.pack(payload, "type.googleapis.com")).build());
            System.out.println("status=OK");
        } catch (io.grpc.StatusRuntimeException e) {
            System.out.println("status=" + e.getStatus().getCode());
        } finally {
            channel.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
