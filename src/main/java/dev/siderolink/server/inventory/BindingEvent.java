package dev.siderolink.server.inventory;

/** A change of one ServerBinding as a store saw it; for DELETED, the last known state. */
public record BindingEvent(Change type, ServerBinding binding) {}
