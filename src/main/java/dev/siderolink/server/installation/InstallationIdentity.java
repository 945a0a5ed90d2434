package dev.siderolink.server.installation;

import java.security.SecureRandom;

/**
 * Everything derived from the {@code siderolink} Secret: the network, the server address and
 * the server's WireGuard key pair.
 */
public record InstallationIdentity(String installationId, WireGuardKey privateKey, WireGuardKey publicKey, SiderolinkNetwork network) {

    /** Validates and derives; a malformed Secret is a start-up error that says which key is wrong. */
    public static InstallationIdentity from(InstallationSecret secret) {
        if (secret.installationId() == null || secret.installationId().isEmpty()) {
            throw new InvalidKeyException("Secret siderolink has an empty data." + InstallationSecret.INSTALLATION_ID_KEY);
        }
        WireGuardKey priv = WireGuardKey.parsePrivate(secret.privateKey(), "Secret siderolink data." + InstallationSecret.PRIVATE_KEY_KEY);
        return new InstallationIdentity(secret.installationId(), priv, priv.publicKey(), SiderolinkNetwork.fromInstallationId(secret.installationId()));
    }

    /** A new installation: the id is a fresh WireGuard private key too (32 random bytes), as in the reference. */
    public static InstallationSecret generateSecret(SecureRandom random) {
        return new InstallationSecret(
                WireGuardKey.generatePrivate(random).toBase64(),
                WireGuardKey.generatePrivate(random).toBase64());
    }

    @Override
    public String toString() {
        return "InstallationIdentity[network=" + network + ", publicKey=" + publicKey + "]";
    }
}
