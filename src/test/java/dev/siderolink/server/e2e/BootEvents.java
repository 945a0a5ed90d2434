package dev.siderolink.server.e2e;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import dev.siderolink.api.events.EventRequest;
import dev.siderolink.api.events.EventSinkServiceGrpc;
import dev.talos.api.common.Code;
import dev.talos.api.machine.AddressEvent;
import dev.talos.api.machine.MachineStatusEvent;
import dev.talos.api.machine.MachineStatusEvent.MachineStage;
import dev.talos.api.machine.PhaseEvent;
import dev.talos.api.machine.RestartEvent;
import dev.talos.api.machine.SequenceEvent;
import dev.talos.api.machine.ServiceHealth;
import dev.talos.api.machine.ServiceStateEvent;
import dev.talos.api.machine.TaskEvent;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The events of a first boot as a Talos node publishes them to its sink, in two stages so that a
 * demo can show the status in between:
 *
 * <ul>
 *   <li>{@code install}: the node booted from the network, loaded its config and starts installing
 *       (config loaded and valid, {@code TalosInstalled} False while the install runs, its addresses);
 *   <li>{@code boot}: the installer ends by rebooting the machine (Sidero counts that as installed),
 *       and the installed system boots ({@code boot} START: installed, config loaded and valid).
 * </ul>
 *
 * As Talos does: one Publish at a time, each event re-sent until it is answered OK (with a growing
 * pause, bounded here by a deadline), ids that are xids. Prints one line per event:
 * {@code published id=<id> type=<proto name> status=OK attempts=<n> {<payload>}}.
 */
final class BootEvents {

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);

    private BootEvents() {}

    static List<Message> stage(String stage, String hostname, List<String> addresses) {
        return switch (stage) {
            case "install" -> List.of(
                    sequence("initialize", SequenceEvent.Action.START),
                    // older Talos: the config was saved, so it loaded and validated (Sidero's rule)
                    PhaseEvent.newBuilder().setPhase("saveConfig").setAction(PhaseEvent.Action.START).build(),
                    machineStatus(MachineStage.INSTALLING, false),
                    sequence("install", SequenceEvent.Action.START),
                    PhaseEvent.newBuilder().setPhase("install").setAction(PhaseEvent.Action.START).build(),
                    TaskEvent.newBuilder().setTask("install").setAction(TaskEvent.Action.START).build(),
                    AddressEvent.newBuilder().setHostname(hostname).addAllAddresses(addresses).build());
            case "boot" -> List.of(
                    // the install sequence ends in the installer's reboot: a FATAL error naming unix.Reboot
                    SequenceEvent.newBuilder().setSequence("install").setAction(SequenceEvent.Action.NOOP)
                            .setError(dev.talos.api.common.Error.newBuilder().setCode(Code.FATAL)
                                    .setMessage("sequence failed: install: unix.Reboot: rebooting into the installed system"))
                            .build(),
                    RestartEvent.newBuilder().setCmd(0x01234567L).build(), // LINUX_REBOOT_CMD_RESTART
                    sequence("boot", SequenceEvent.Action.START),
                    ServiceStateEvent.newBuilder().setService("apid").setAction(ServiceStateEvent.Action.RUNNING)
                            .setMessage("Health check successful")
                            .setHealth(ServiceHealth.newBuilder().setHealthy(true).setLastMessage("")).build(),
                    machineStatus(MachineStage.RUNNING, true),
                    sequence("boot", SequenceEvent.Action.STOP));
            default -> throw new IllegalArgumentException("unknown stage " + stage + " (install or boot)");
        };
    }

    /** Publishes the stage's events in order; false when one was not answered OK before the deadline. */
    static boolean publish(String address, int port, String stage, String hostname, List<String> addresses) throws Exception {
        List<Message> events = stage(stage, hostname, addresses);
        Xid ids = new Xid();
        ManagedChannel channel = NettyChannelBuilder.forAddress(new InetSocketAddress(InetAddress.getByName(address), port))
                .usePlaintext().build();
        try {
            var stub = EventSinkServiceGrpc.newBlockingStub(channel);
            for (Message event : events) {
                String id = ids.next();
                EventRequest request = EventRequest.newBuilder().setId(id).setData(Any.pack(event, "type.googleapis.com")).build();
                String type = event.getDescriptorForType().getFullName();
                long deadline = System.nanoTime() + DEADLINE_NANOS;
                long pauseMillis = 200;
                for (int attempt = 1; ; attempt++) {
                    try {
                        stub.withDeadlineAfter(10, TimeUnit.SECONDS).publish(request);
                        System.out.println("published id=" + id + " type=" + type + " status=OK attempts=" + attempt
                                + " {" + TextFormat.printer().shortDebugString(event) + "}");
                        break;
                    } catch (StatusRuntimeException e) {
                        if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(pauseMillis) > deadline) {
                            System.out.println("published id=" + id + " type=" + type + " status=" + e.getStatus().getCode()
                                    + " attempts=" + attempt + " (giving up: " + e.getStatus().getDescription() + ")");
                            return false;
                        }
                        // Talos re-sends the same event after a pause; e.g. UNAVAILABLE right after provisioning
                        System.err.println("event " + id + ": " + e.getStatus().getCode() + ", sending it again in " + pauseMillis + " ms");
                        Thread.sleep(pauseMillis);
                        pauseMillis = Math.min(2000, pauseMillis * 3 / 2);
                    }
                }
            }
            return true;
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    private static SequenceEvent sequence(String name, SequenceEvent.Action action) {
        return SequenceEvent.newBuilder().setSequence(name).setAction(action).build();
    }

    private static MachineStatusEvent machineStatus(MachineStage stage, boolean ready) {
        return MachineStatusEvent.newBuilder().setStage(stage)
                .setStatus(MachineStatusEvent.MachineStatus.newBuilder().setReady(ready)).build();
    }

    /** Event ids as Talos makes them: xids (4-byte seconds, 3-byte machine, 2-byte pid, 3-byte counter), base32hex. */
    static final class Xid {
        private static final char[] DIGITS = "0123456789abcdefghijklmnopqrstuv".toCharArray();
        private final byte[] machine = new byte[3];
        private final int pid = (int) ProcessHandle.current().pid();
        private int counter = RANDOM.nextInt(1 << 24);

        Xid() {
            RANDOM.nextBytes(machine);
        }

        String next() {
            long seconds = System.currentTimeMillis() / 1000;
            int c = counter++ & 0xffffff;
            byte[] raw = {(byte) (seconds >>> 24), (byte) (seconds >>> 16), (byte) (seconds >>> 8), (byte) seconds,
                machine[0], machine[1], machine[2], (byte) (pid >>> 8), (byte) pid, (byte) (c >>> 16), (byte) (c >>> 8), (byte) c};
            StringBuilder text = new StringBuilder(20);
            int buffer = 0;
            int bits = 0;
            for (byte b : raw) {
                buffer = (buffer << 8) | (b & 0xff);
                bits += 8;
                while (bits >= 5) {
                    text.append(DIGITS[(buffer >>> (bits - 5)) & 31]);
                    bits -= 5;
                }
            }
            text.append(DIGITS[(buffer << (5 - bits)) & 31]); // 96 bits: the last 4 padded with zeros
            return text.toString();
        }
    }
}
