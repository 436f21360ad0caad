package io.mithril.server.api.downstream;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mithril.api.spire.bundle.BundleGrpc;
import io.mithril.api.spire.bundle.GetBundleRequest;
import io.mithril.api.spire.bundle.PublishJWTAuthorityRequest;
import io.mithril.api.spire.bundle.PublishJWTAuthorityResponse;
import io.mithril.api.spire.types.Bundle;
import io.mithril.api.spire.types.JWTKey;
import io.mithril.api.spire.types.X509Certificate;
import io.mithril.pki.upstream.UpstreamAuthority;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.ca.CaManager;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's {@code spire.api.server.bundle.v1.Bundle} methods a downstream server calls: {@code
 * GetBundle} (any caller) and {@code PublishJWTAuthority} (downstream callers, checked by {@link
 * DownstreamAuthInterceptor}), on the agent API port.
 */
public final class UpstreamBundleService extends BundleGrpc.BundleImplBase {

    private static final Logger log = LoggerFactory.getLogger(UpstreamBundleService.class);

    private final CaManager ca;
    private final Clock clock;

    public UpstreamBundleService(CaManager ca, Clock clock) {
        this.ca = ca;
        this.clock = clock;
    }

    @Override
    public void getBundle(GetBundleRequest request, StreamObserver<Bundle> response) {
        io.mithril.api.types.Bundle b = ca.bundleProto();
        Bundle.Builder out =
                Bundle.newBuilder()
                        .setTrustDomain(b.getTrustDomain())
                        .setRefreshHint(b.getRefreshHint())
                        .setSequenceNumber(b.getSequenceNumber());
        for (ByteString der : b.getX509AuthoritiesList()) {
            out.addX509Authorities(X509Certificate.newBuilder().setAsn1(der));
        }
        for (io.mithril.api.types.JwtKey k : b.getJwtAuthoritiesList()) {
            out.addJwtAuthorities(
                    JWTKey.newBuilder()
                            .setKeyId(k.getKeyId())
                            .setPublicKey(k.getPublicKey())
                            .setExpiresAt(k.getExpiresAt()));
        }
        response.onNext(out.build());
        response.onCompleted();
    }

    @Override
    public void publishJWTAuthority(
            PublishJWTAuthorityRequest request,
            StreamObserver<PublishJWTAuthorityResponse> response) {
        Object caller = DownstreamAuthInterceptor.CALLER_ID.get();
        String invalid = invalid(request);
        if (invalid != null) {
            log.warn("PublishJWTAuthority refused: caller={} reason={}", caller, invalid);
            response.onError(Status.INVALID_ARGUMENT.withDescription(invalid).asRuntimeException());
            return;
        }
        JWTKey in = request.getJwtAuthority();
        PublishJWTAuthorityResponse.Builder out = PublishJWTAuthorityResponse.newBuilder();
        try {
            for (UpstreamAuthority.JwtKey k :
                    ca.publishDownstreamJwtKey(
                            new UpstreamAuthority.JwtKey(
                                    in.getKeyId(),
                                    in.getPublicKey().toByteArray(),
                                    in.getExpiresAt()))) {
                out.addJwtAuthorities(
                        JWTKey.newBuilder()
                                .setKeyId(k.keyId())
                                .setPublicKey(ByteString.copyFrom(k.publicKey()))
                                .setExpiresAt(k.expiresAt()));
            }
        } catch (RuntimeException e) {
            log.error("Failed to publish JWT key of {}: {}", caller, e.getMessage());
            response.onError(
                    Status.INTERNAL
                            .withDescription("failed to publish JWT key: " + e.getMessage())
                            .asRuntimeException());
            return;
        }
        log.info(
                "Published downstream JWT key: caller={} kid={} expiresAt={}",
                caller,
                in.getKeyId(),
                in.getExpiresAt());
        response.onNext(out.build());
        response.onCompleted();
    }

    /** Why the JWT authority cannot be accepted, or null (SPIRE's ParseJWTAuthorities rules). */
    private String invalid(PublishJWTAuthorityRequest request) {
        if (!request.hasJwtAuthority()) {
            return "missing JWT authority";
        }
        JWTKey k = request.getJwtAuthority();
        if (k.getKeyId().isEmpty()) {
            return "invalid JWT authority: missing key ID";
        }
        if (k.getExpiresAt() <= clock.instant().getEpochSecond()) {
            return "invalid JWT authority "
                    + k.getKeyId()
                    + ": expired or no expiry (expires_at "
                    + k.getExpiresAt()
                    + ")";
        }
        try {
            BundleCodec.publicKey(k.getPublicKey().toByteArray());
        } catch (RuntimeException e) {
            return "invalid JWT authority "
                    + k.getKeyId()
                    + ": public key is not PKIX DER: "
                    + e.getMessage();
        }
        return null;
    }
}
