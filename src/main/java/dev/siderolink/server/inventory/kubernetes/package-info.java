/**
 * The {@code kubernetes} store: ServerBindings, MetalMachines and the {@code siderolink} Secret in
 * the Kubernetes API through fabric8. Reads for lookups come from informer caches (ServerBindings,
 * and MetalMachines in every namespace for their Machine owner); writes are JSON merge patches
 * guarded by {@code metadata.resourceVersion} and retried on conflict, so concurrent writers (other
 * replicas, Sidero's controllers, kubectl) never lose each other's changes.
 *
 * <p>The service account therefore needs get/list/watch/patch on {@code serverbindings} (and their
 * status) and list/watch on {@code metalmachines} cluster-wide; the store reports itself synced
 * (readiness) only once both lists have succeeded. A failing list or watch is retried with backoff
 * for as long as it fails (fabric8 would give up on a failing first list), so a fixed API server or
 * RBAC rule is picked up without a restart; health shows the last error meanwhile.
 */
package dev.siderolink.server.inventory.kubernetes;
