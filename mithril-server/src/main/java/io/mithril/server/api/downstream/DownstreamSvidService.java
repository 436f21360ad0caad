package io.mithril.server.api.downstream;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mithril.api.spire.svid.NewDownstreamX509CARequest;
import io.mithril.api.spire.svid.NewDownstreamX509CAResponse;
import io.mithril.api.spire.svid.SVIDGrpc;
import io.mithril.pki.Csr;
import io.mithril.pki.PkiException;
import io.mithril.server.ca.CaManager;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code spire.api.server.svid.v1.SVID/NewDownstreamX509CA} on the agent API port: signs a
 * downstream server's CA key as an intermediate of this trust domain. Callers are authorised by
 * {@link DownstreamAuthInterceptor} (downstream entries only).
 */
public final class DownstreamSvidService extends SVIDGrpc.SVIDImplBase {

    private static final Logger log = LoggerFactory.getLogger(DownstreamSvidService.class);

    private final CaManager ca;

    public DownstreamSvidService(CaManager ca) {
        this.ca = ca;
    }

    @Override
    public void newDownstreamX509CA(
            NewDownstreamX509CARequest request,
            StreamObserver<NewDownstreamX509CAResponse> response) {
        Object caller = DownstreamAuthInterceptor.CALLER_ID.get();
        if (request.getPreferredTtl() < 0) {
            refuse(response, caller, "preferred_ttl " + request.getPreferredTtl() + " is negative");
            return;
        }
        Csr csr;
        try {
            csr = Csr.parse(request.getCsr().toByteArray());
        } catch (PkiException e) {
            refuse(response, caller, "malformed CSR: " + e.getMessage());
            return;
        }
        List<X509Certificate> chain;
        try {
            chain =
                    ca.signDownstreamX509Ca(
                            csr.publicKey(), Duration.ofSeconds(request.getPreferredTtl()));
        } catch (PkiException | IllegalArgumentException e) {
            log.error("Failed to sign downstream X509 CA for {}: {}", caller, e.getMessage());
            response.onError(
                    Status.INTERNAL
                            .withDescription(
                                    "failed to sign downstream X.509 CA: " + e.getMessage())
                            .asRuntimeException());
            return;
        }
        NewDownstreamX509CAResponse.Builder out = NewDownstreamX509CAResponse.newBuilder();
        for (X509Certificate c : chain) {
            out.addCaCertChain(der(c));
        }
        for (X509Certificate root : ca.bundle().x509Authorities()) {
            out.addX509Authorities(der(root));
        }
        log.info(
                "Signed downstream X509 CA: caller={} subject={} notAfter={}",
                caller,
                chain.get(0).getSubjectX500Principal(),
                chain.get(0).getNotAfter().toInstant());
        response.onNext(out.build());
        response.onCompleted();
    }

    private static void refuse(StreamObserver<?> response, Object caller, String why) {
        log.warn("NewDownstreamX509CA refused: caller={} reason={}", caller, why);
        response.onError(Status.INVALID_ARGUMENT.withDescription(why).asRuntimeException());
    }

    static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }
}
