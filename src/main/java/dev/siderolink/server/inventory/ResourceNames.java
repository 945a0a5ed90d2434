package dev.siderolink.server.inventory;

import java.util.regex.Pattern;

/**
 * Kubernetes object names (RFC 1123 subdomains). A server UUID becomes a resource name and, in
 * the standalone store, a file name: anything else is refused before it reaches either.
 */
public final class ResourceNames {

    private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    private ResourceNames() {}

    /** Null when valid, else why not. */
    public static String problem(String name) {
        if (name == null || name.isEmpty()) {
            return "is empty";
        }
        if (name.length() > 253) {
            return "is longer than 253 characters";
        }
        if (!SUBDOMAIN.matcher(name).matches()) {
            return "is not a valid resource name (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)";
        }
        return null;
    }

    public static String require(String name) {
        String problem = problem(name);
        if (problem != null) {
            throw new IllegalArgumentException("name \"" + name + "\" " + problem);
        }
        return name;
    }
}
