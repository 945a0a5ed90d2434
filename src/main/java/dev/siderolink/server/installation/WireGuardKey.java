package dev.siderolink.server.installation;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.KeyAgreement;

/**
 * A 32-byte Curve25519 WireGuard key, in the base64 text form {@code wg} uses (44 characters).
 * A private key never prints itself.
 */
public final class WireGuardKey {

    public static final int LENGTH = 32;
    private static final int TEXT_LENGTH = 44;
    /** The X25519 base point u = 9: scalar-multiplying it by a private key gives the public key. */
    private static final BigInteger BASE_POINT = BigInteger.valueOf(9);

    private final byte[] bytes;
    private final boolean secret;

    private WireGuardKey(byte[] bytes, boolean secret) {
        this.bytes = bytes;
        this.secret = secret;
    }

    /** Parses a public key; {@code what} names the value in the error (e.g. {@code node_public_key}). */
    public static WireGuardKey parsePublic(String text, String what) {
        return new WireGuardKey(decode(text, what, false), false);
    }

    /** Parses a private key; the error message never contains the text. */
    public static WireGuardKey parsePrivate(String text, String what) {
        return new WireGuardKey(decode(text, what, true), true);
    }

    /** A new private key, clamped as {@code wg genkey} does. */
    public static WireGuardKey generatePrivate(SecureRandom random) {
        byte[] k = new byte[LENGTH];
        random.nextBytes(k);
        k[0] &= (byte) 248;
        k[31] &= 127;
        k[31] |= 64;
        return new WireGuardKey(k, true);
    }

    private static byte[] decode(String text, String what, boolean secret) {
        if (text == null || text.isEmpty()) {
            throw new InvalidKeyException(what + " is empty: expected a WireGuard key, the base64 text of 32 bytes (44 characters)");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            String detail = secret ? "" : ": " + e.getMessage();
            throw new InvalidKeyException(what + " is not valid base64" + detail
                    + " (expected a WireGuard key, the base64 text of 32 bytes, 44 characters)");
        }
        if (decoded.length != LENGTH) {
            throw new InvalidKeyException(what + " decodes to " + decoded.length
                    + " bytes; a WireGuard key is 32 bytes (44 base64 characters, got " + text.length() + ")");
        }
        if (text.length() != TEXT_LENGTH) {
            // Unpadded or oddly padded base64 decodes, but wg and Talos only take the canonical form.
            throw new InvalidKeyException(what + " must be exactly 44 base64 characters with '=' padding, got " + text.length());
        }
        return decoded;
    }

    /** X25519(private, 9): what {@code wg pubkey} prints for this private key. */
    public WireGuardKey publicKey() {
        if (!secret) {
            throw new IllegalStateException("publicKey() needs a private key");
        }
        try {
            KeyFactory factory = KeyFactory.getInstance("XDH");
            PrivateKey priv = factory.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, bytes.clone()));
            PublicKey base = factory.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, BASE_POINT));
            KeyAgreement agreement = KeyAgreement.getInstance("XDH");
            agreement.init(priv);
            agreement.doPhase(base, true);
            return new WireGuardKey(agreement.generateSecret(), false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("X25519 is not available in this JDK", e);
        }
    }

    public String toBase64() {
        return Base64.getEncoder().encodeToString(bytes);
    }

    public boolean isSecret() {
        return secret;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WireGuardKey other && secret == other.secret && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return secret ? "WireGuardKey[private, redacted]" : toBase64();
    }
}
