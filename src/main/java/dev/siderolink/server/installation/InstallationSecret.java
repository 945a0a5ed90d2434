package dev.siderolink.server.installation;

/**
 * The decoded {@code data} of the {@code siderolink} Secret: both values are base64 texts of 32
 * random bytes, as the reference writes them.
 */
public record InstallationSecret(String installationId, String privateKey) {

    public static final String NAME = "siderolink";
    public static final String INSTALLATION_ID_KEY = "installation-id";
    public static final String PRIVATE_KEY_KEY = "private-key";

    @Override
    public String toString() {
        return "InstallationSecret[installationId=" + installationId + ", privateKey=<redacted>]";
    }
}
