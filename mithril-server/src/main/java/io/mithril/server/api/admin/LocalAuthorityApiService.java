package io.mithril.server.api.admin;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mithril.api.localauthority.ActivateJWTAuthorityRequest;
import io.mithril.api.localauthority.ActivateJWTAuthorityResponse;
import io.mithril.api.localauthority.ActivateX509AuthorityRequest;
import io.mithril.api.localauthority.ActivateX509AuthorityResponse;
import io.mithril.api.localauthority.AuthorityState;
import io.mithril.api.localauthority.GetJWTAuthorityStateRequest;
import io.mithril.api.localauthority.GetJWTAuthorityStateResponse;
import io.mithril.api.localauthority.GetX509AuthorityStateRequest;
import io.mithril.api.localauthority.GetX509AuthorityStateResponse;
import io.mithril.api.localauthority.LocalAuthorityServiceGrpc;
import io.mithril.api.localauthority.PrepareJWTAuthorityRequest;
import io.mithril.api.localauthority.PrepareJWTAuthorityResponse;
import io.mithril.api.localauthority.PrepareX509AuthorityRequest;
import io.mithril.api.localauthority.PrepareX509AuthorityResponse;
import io.mithril.api.localauthority.RevokeJWTAuthorityRequest;
import io.mithril.api.localauthority.RevokeJWTAuthorityResponse;
import io.mithril.api.localauthority.RevokeX509AuthorityRequest;
import io.mithril.api.localauthority.RevokeX509AuthorityResponse;
import io.mithril.api.localauthority.RevokeX509UpstreamAuthorityRequest;
import io.mithril.api.localauthority.RevokeX509UpstreamAuthorityResponse;
import io.mithril.api.localauthority.TaintJWTAuthorityRequest;
import io.mithril.api.localauthority.TaintJWTAuthorityResponse;
import io.mithril.api.localauthority.TaintX509AuthorityRequest;
import io.mithril.api.localauthority.TaintX509AuthorityResponse;
import io.mithril.api.localauthority.TaintX509UpstreamAuthorityRequest;
import io.mithril.api.localauthority.TaintX509UpstreamAuthorityResponse;
import io.mithril.server.ca.AuthorityException;
import io.mithril.server.ca.CaManager;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SPIRE's LocalAuthority API on the admin socket: the state of the server's X.509 CAs and JWT keys
 * and the operator's verbs on them (prepare, activate, taint, revoke; taint and revoke of an
 * upstream root). The rules live in {@link CaManager}; a refusal is an {@link AuthorityException}
 * whose reason becomes the status code and whose message the description.
 */
public final class LocalAuthorityApiService
        extends LocalAuthorityServiceGrpc.LocalAuthorityServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(LocalAuthorityApiService.class);

    private final CaManager ca;

    public LocalAuthorityApiService(CaManager ca) {
        this.ca = ca;
    }

    static AuthorityState proto(CaManager.AuthorityState s) {
        return AuthorityState.newBuilder()
                .setAuthorityId(s.authorityId())
                .setExpiresAt(s.expiresAt().getEpochSecond())
                .setUpstreamAuthoritySubjectKeyId(s.upstreamAuthorityId())
                .build();
    }

    private static <T> void answer(String what, StreamObserver<T> out, Supplier<T> work) {
        T result;
        try {
            result = work.get();
        } catch (AuthorityException e) {
            Status code =
                    switch (e.reason()) {
                        case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
                        case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
                        case NOT_FOUND -> Status.NOT_FOUND;
                        case UNAVAILABLE -> Status.UNAVAILABLE;
                    };
            log.info("{} refused: {}", what, e.getMessage());
            out.onError(code.withDescription(e.getMessage()).asRuntimeException());
            return;
        }
        out.onNext(result);
        out.onCompleted();
    }

    @Override
    public void getX509AuthorityState(
            GetX509AuthorityStateRequest req, StreamObserver<GetX509AuthorityStateResponse> out) {
        answer(
                "GetX509AuthorityState",
                out,
                () -> {
                    GetX509AuthorityStateResponse.Builder b =
                            GetX509AuthorityStateResponse.newBuilder();
                    if (ca.currentX509Ca() == null) {
                        throw new AuthorityException(
                                AuthorityException.Reason.UNAVAILABLE, "server is initializing");
                    }
                    b.setActive(proto(CaManager.state(ca.currentX509Ca())));
                    ca.nextX509Ca().ifPresent(c -> b.setPrepared(proto(CaManager.state(c))));
                    ca.oldX509Ca().ifPresent(c -> b.setOld(proto(CaManager.state(c))));
                    return b.build();
                });
    }

    @Override
    public void prepareX509Authority(
            PrepareX509AuthorityRequest req, StreamObserver<PrepareX509AuthorityResponse> out) {
        answer(
                "PrepareX509Authority",
                out,
                () ->
                        PrepareX509AuthorityResponse.newBuilder()
                                .setPreparedAuthority(proto(ca.prepareX509()))
                                .build());
    }

    @Override
    public void activateX509Authority(
            ActivateX509AuthorityRequest req, StreamObserver<ActivateX509AuthorityResponse> out) {
        answer(
                "ActivateX509Authority",
                out,
                () ->
                        ActivateX509AuthorityResponse.newBuilder()
                                .setActivatedAuthority(proto(ca.activateX509(req.getAuthorityId())))
                                .build());
    }

    @Override
    public void taintX509Authority(
            TaintX509AuthorityRequest req, StreamObserver<TaintX509AuthorityResponse> out) {
        answer(
                "TaintX509Authority",
                out,
                () ->
                        TaintX509AuthorityResponse.newBuilder()
                                .setTaintedAuthority(proto(ca.taintX509(req.getAuthorityId())))
                                .build());
    }

    @Override
    public void revokeX509Authority(
            RevokeX509AuthorityRequest req, StreamObserver<RevokeX509AuthorityResponse> out) {
        answer(
                "RevokeX509Authority",
                out,
                () ->
                        RevokeX509AuthorityResponse.newBuilder()
                                .setRevokedAuthority(proto(ca.revokeX509(req.getAuthorityId())))
                                .build());
    }

    @Override
    public void taintX509UpstreamAuthority(
            TaintX509UpstreamAuthorityRequest req,
            StreamObserver<TaintX509UpstreamAuthorityResponse> out) {
        answer(
                "TaintX509UpstreamAuthority",
                out,
                () ->
                        TaintX509UpstreamAuthorityResponse.newBuilder()
                                .setUpstreamAuthoritySubjectKeyId(
                                        ca.taintUpstream(req.getSubjectKeyId()))
                                .build());
    }

    @Override
    public void revokeX509UpstreamAuthority(
            RevokeX509UpstreamAuthorityRequest req,
            StreamObserver<RevokeX509UpstreamAuthorityResponse> out) {
        answer(
                "RevokeX509UpstreamAuthority",
                out,
                () ->
                        RevokeX509UpstreamAuthorityResponse.newBuilder()
                                .setUpstreamAuthoritySubjectKeyId(
                                        ca.revokeUpstream(req.getSubjectKeyId()))
                                .build());
    }

    @Override
    public void getJWTAuthorityState(
            GetJWTAuthorityStateRequest req, StreamObserver<GetJWTAuthorityStateResponse> out) {
        answer(
                "GetJWTAuthorityState",
                out,
                () -> {
                    if (ca.currentJwtKey() == null) {
                        throw new AuthorityException(
                                AuthorityException.Reason.UNAVAILABLE, "server is initializing");
                    }
                    GetJWTAuthorityStateResponse.Builder b =
                            GetJWTAuthorityStateResponse.newBuilder()
                                    .setActive(proto(CaManager.state(ca.currentJwtKey())));
                    ca.nextJwtKey().ifPresent(k -> b.setPrepared(proto(CaManager.state(k))));
                    ca.oldJwtKey().ifPresent(k -> b.setOld(proto(CaManager.state(k))));
                    return b.build();
                });
    }

    @Override
    public void prepareJWTAuthority(
            PrepareJWTAuthorityRequest req, StreamObserver<PrepareJWTAuthorityResponse> out) {
        answer(
                "PrepareJWTAuthority",
                out,
                () ->
                        PrepareJWTAuthorityResponse.newBuilder()
                                .setPreparedAuthority(proto(ca.prepareJwt()))
                                .build());
    }

    @Override
    public void activateJWTAuthority(
            ActivateJWTAuthorityRequest req, StreamObserver<ActivateJWTAuthorityResponse> out) {
        answer(
                "ActivateJWTAuthority",
                out,
                () ->
                        ActivateJWTAuthorityResponse.newBuilder()
                                .setActivatedAuthority(proto(ca.activateJwt(req.getAuthorityId())))
                                .build());
    }

    @Override
    public void taintJWTAuthority(
            TaintJWTAuthorityRequest req, StreamObserver<TaintJWTAuthorityResponse> out) {
        answer(
                "TaintJWTAuthority",
                out,
                () ->
                        TaintJWTAuthorityResponse.newBuilder()
                                .setTaintedAuthority(proto(ca.taintJwt(req.getAuthorityId())))
                                .build());
    }

    @Override
    public void revokeJWTAuthority(
            RevokeJWTAuthorityRequest req, StreamObserver<RevokeJWTAuthorityResponse> out) {
        answer(
                "RevokeJWTAuthority",
                out,
                () ->
                        RevokeJWTAuthorityResponse.newBuilder()
                                .setRevokedAuthority(proto(ca.revokeJwt(req.getAuthorityId())))
                                .build());
    }
}
