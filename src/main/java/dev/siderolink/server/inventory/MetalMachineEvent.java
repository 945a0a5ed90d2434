package dev.siderolink.server.inventory;

/** A change of one MetalMachine as a store saw it; for DELETED, the last known state. */
public record MetalMachineEvent(Change type, MetalMachine metalMachine) {}
