package dev.siderolink.server.provision;

/** Published (as a Spring application event) after every successful Provision call. */
public record NodeProvisioned(String uuid, String address) {}
