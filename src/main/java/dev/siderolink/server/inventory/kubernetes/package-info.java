/**
 * The {@code kubernetes} store: ServerBindings and the {@code siderolink} Secret in the Kubernetes
 * API through fabric8. Reads for lookups come from an informer cache; writes are JSON merge
 * patches guarded by {@code metadata.resourceVersion} and retried on conflict, so concurrent
 * writers (other replicas, Sidero's controllers, kubectl) never lose each other's changes.
 */
package dev.siderolink.server.inventory.kubernetes;
