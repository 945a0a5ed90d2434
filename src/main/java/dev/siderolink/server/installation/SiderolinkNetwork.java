package dev.siderolink.server.installation;

import inet.ipaddr.IPAddress;
import inet.ipaddr.IPAddressString;
import inet.ipaddr.ipv6.IPv6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;

/**
 * The installation's SideroLink /64 and the addresses in it.
 *
 * <p>Prefix rule (siderolink {@code address.go}): SHA-256 of the installation id text, its last 16
 * bytes, byte 0 = {@code 0xfd} (RFC 4193 ULA), byte 7 = {@code 0x03} (the SideroLink purpose
 * code), low 64 bits zero. The server is {@code <prefix>::1}.
 */
public final class SiderolinkNetwork {

    public static final int PREFIX_LENGTH = 64;
    static final byte ULA = (byte) 0xfd;
    static final byte PURPOSE_SIDEROLINK = 0x03;

    private final byte[] prefix; // 8 bytes
    private final IPv6Address serverAddress;

    private SiderolinkNetwork(byte[] prefix) {
        this.prefix = prefix;
        byte[] server = Arrays.copyOf(prefix, 16);
        server[15] = 1;
        this.serverAddress = new IPv6Address(server);
    }

    public static SiderolinkNetwork fromInstallationId(String installationId) {
        byte[] hash;
        try {
            hash = MessageDigest.getInstance("SHA-256").digest(installationId.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] prefix = Arrays.copyOfRange(hash, 16, 24);
        prefix[0] = ULA;
        prefix[7] = PURPOSE_SIDEROLINK;
        return new SiderolinkNetwork(prefix);
    }

    /** The network, e.g. {@code fdae:2859:5bb1:7a03::/64}. */
    public String prefixText() {
        return new IPv6Address(Arrays.copyOf(prefix, 16)).toCompressedString() + "/" + PREFIX_LENGTH;
    }

    /** The server's tunnel address, bare ({@code server_address} in the Provision response). */
    public IPv6Address serverAddress() {
        return serverAddress;
    }

    /** The address with the given 64-bit interface id. */
    public IPv6Address nodeAddress(byte[] interfaceId) {
        if (interfaceId.length != 8) {
            throw new IllegalArgumentException("interface id must be 8 bytes");
        }
        byte[] bytes = Arrays.copyOf(prefix, 16);
        System.arraycopy(interfaceId, 0, bytes, 8, 8);
        return new IPv6Address(bytes);
    }

    public boolean contains(IPAddress address) {
        if (!(address instanceof IPv6Address v6)) {
            return false;
        }
        byte[] bytes = v6.getBytes();
        return Arrays.equals(bytes, 0, 8, prefix, 0, 8);
    }

    public boolean contains(InetAddress address) {
        return address != null && address.getAddress().length == 16 && Arrays.equals(address.getAddress(), 0, 8, prefix, 0, 8);
    }

    /** {@code addr/64}, the form stored in {@code spec.siderolink.address} and sent as {@code node_address_prefix}. */
    public static String withPrefixLength(IPv6Address address) {
        return address.withoutPrefixLength().toCompressedString() + "/" + PREFIX_LENGTH;
    }

    /**
     * Parses a stored {@code spec.siderolink.address} ({@code addr/64}, or a bare address) to the
     * bare address; empty when it is not an IPv6 address.
     */
    public static Optional<IPv6Address> parseStored(String stored) {
        if (stored == null || stored.isBlank()) {
            return Optional.empty();
        }
        IPAddress parsed = new IPAddressString(stored.trim()).getAddress();
        if (parsed == null || !parsed.isIPv6()) {
            return Optional.empty();
        }
        return Optional.of(parsed.toIPv6().withoutPrefixLength());
    }

    @Override
    public String toString() {
        return prefixText();
    }
}
