/** gRPC plumbing shared by the server's endpoints: who is calling (the peer address). */
package dev.siderolink.server.grpc;
