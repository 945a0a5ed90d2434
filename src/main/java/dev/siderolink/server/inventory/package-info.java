/**
 * The inventory: where ServerBindings, MetalMachines (read only) and the installation Secret live,
 * behind one port, {@link dev.siderolink.server.inventory.ResourceStore}, with two implementations:
 * the Kubernetes API ({@code kubernetes}) and a directory of Kubernetes-shaped YAML files
 * ({@code standalone}).
 *
 * <p>Both stores read and write the same resource shapes ({@link dev.siderolink.server.inventory.ServerBindingResources},
 * {@link dev.siderolink.server.inventory.MetalMachineResources}), so a standalone directory can be
 * moved into a cluster with {@code kubectl apply -f}.
 *
 * <p>{@link dev.siderolink.server.inventory.BindingDirectory} turns the stores' caches into the
 * lookup from a node's tunnel address to its {@link dev.siderolink.server.inventory.Annotation}
 * (server UUID, namespace, MetalMachine, Machine, cluster), kept current by the stores' watches.
 */
package dev.siderolink.server.inventory;
