package dev.siderolink.server.logs;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Reads a UDP socket's kernel drop count from {@code /proc/net/udp6} (Linux). */
final class ProcNetUdp {

    private static final Path UDP6 = Path.of("/proc/net/udp6");
    private static final int LOCAL_ADDRESS = 1;
    private static final int DROPS = 12;

    private ProcNetUdp() {}

    static long drops(InetSocketAddress bound) {
        return drops(UDP6, bound);
    }

    static long drops(Path table, InetSocketAddress bound) {
        String local = localAddress(bound);
        List<String> lines;
        try {
            lines = Files.readAllLines(table);
        } catch (IOException | SecurityException e) {
            return 0;
        }
        long drops = 0;
        for (String line : lines) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length > DROPS && fields[LOCAL_ADDRESS].equals(local)) {
                try {
                    drops += Long.parseLong(fields[DROPS]);
                } catch (NumberFormatException e) {
                    // a format we do not know: count nothing rather than nonsense
                }
            }
        }
        return drops;
    }

    /** The kernel prints the address as four 32-bit words in host byte order, then {@code :PORT}, in hex. */
    static String localAddress(InetSocketAddress bound) {
        byte[] bytes = bound.getAddress().getAddress();
        StringBuilder text = new StringBuilder(40);
        for (int word = 0; word < bytes.length; word += 4) {
            for (int i = 0; i < 4; i++) {
                int index = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? word + 3 - i : word + i;
                text.append(String.format(Locale.ROOT, "%02X", bytes[index] & 0xff));
            }
        }
        return text.append(String.format(Locale.ROOT, ":%04X", bound.getPort())).toString();
    }
}
