package dev.siderolink.server.talosapi;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * Reading events needs a Talos role that may read ({@code os:reader}, {@code os:operator} or
 * {@code os:admin}) in the client certificate's organization, as apid requires for
 * {@code MachineService/Events}; other certificates of the CA are refused with PERMISSION_DENIED.
 */
final class RoleCheck implements ServerInterceptor {

    static final Set<String> READ_ROLES = Set.of("os:reader", "os:operator", "os:admin");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (!mayRead(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION))) {
            call.close(Status.PERMISSION_DENIED.withDescription("the client certificate has no Talos role that may read events ("
                    + String.join(", ", READ_ROLES.stream().sorted().toList()) + ")"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
    }

    static boolean mayRead(SSLSession session) {
        if (session == null) {
            return false;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            if (chain.length == 0 || !(chain[0] instanceof X509Certificate client)) {
                return false;
            }
            X500Name subject = X500Name.getInstance(client.getSubjectX500Principal().getEncoded());
            for (RDN rdn : subject.getRDNs(BCStyle.O)) {
                if (READ_ROLES.contains(IETFUtils.valueToString(rdn.getFirst().getValue()))) {
                    return true;
                }
            }
            return false;
        } catch (SSLPeerUnverifiedException e) {
            return false;
        }
    }
}
