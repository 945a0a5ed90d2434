/**
 * The inventory: where ServerBindings (and the installation Secret) live, behind one port,
 * {@link dev.siderolink.server.inventory.ResourceStore}, with two implementations: the Kubernetes
 * API ({@code kubernetes}) and a directory of Kubernetes-shaped YAML files ({@code standalone}).
 *
 * <p>Both stores read and write the same resource shapes ({@link dev.siderolink.server.inventory.ServerBindingResources}),
 * so a standalone directory can be moved into a cluster with {@code kubectl apply -f}.
 */
package dev.siderolink.server.inventory;
