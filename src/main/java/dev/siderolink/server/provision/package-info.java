/**
 * The Provision API ({@code sidero.link.ProvisionService/Provision}): a node presents its UUID and
 * this boot's WireGuard public key and gets its tunnel address, the server's key, address and
 * WireGuard endpoints. {@link dev.siderolink.server.provision.Provisioner} holds the rules;
 * {@link dev.siderolink.server.provision.ProvisionGrpcService} is the gRPC endpoint.
 */
package dev.siderolink.server.provision;
