package io.mithril.server.api.agent;

import static io.mithril.server.attestor.JoinTokenAttestor.redact;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mithril.api.agent.AgentServiceGrpc;
import io.mithril.api.agent.AttestAgentRequest;
import io.mithril.api.agent.AttestAgentResponse;
import io.mithril.api.agent.BatchNewX509SVIDRequest;
import io.mithril.api.agent.BatchNewX509SVIDResponse;
import io.mithril.api.agent.FetchBundlesRequest;
import io.mithril.api.agent.FetchBundlesResponse;
import io.mithril.api.agent.GetAuthorizedEntriesRequest;
import io.mithril.api.agent.GetAuthorizedEntriesResponse;
import io.mithril.api.agent.NewJWTSVIDRequest;
import io.mithril.api.agent.NewJWTSVIDResponse;
import io.mithril.api.agent.NewX509SVIDParams;
import io.mithril.api.agent.PermissionDeniedDetails;
import io.mithril.api.agent.RenewAgentRequest;
import io.mithril.api.agent.RenewAgentResponse;
import io.mithril.api.types.Bundle;
import io.mithril.pki.Csr;
import io.mithril.pki.PkiException;
import io.mithril.server.api.AgentSyncs;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.attestor.AttestationException;
import io.mithril.server.attestor.AttestationResult;
import io.mithril.server.attestor.NodeAttestor;
import io.mithril.server.ca.CaManager;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent API ({@code mithril.agent.v1.AgentService}): node attestation, agent SVID renewal,
 * authorised entries, X509-SVID and JWT-SVID signing, bundles. Callers other than {@code
 * AttestAgent} are authenticated by {@link AgentAuthInterceptor}.
 */
public final class AgentApiService extends AgentServiceGrpc.AgentServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(AgentApiService.class);

    private final TrustDomain trustDomain;
    private final DataStore dataStore;
    private final CaManager ca;
    private final Map<String, NodeAttestor> attestors;
    private final AuthorizedEntries authorized;
    private final Duration agentTtl;
    private final Duration defaultX509Ttl;
    private final Duration defaultJwtTtl;
    private final ServerMetrics metrics;
    private final AgentSyncs syncs;
    private final RecentBundles bundles =
            new RecentBundles(this::readBundles, RecentBundles.DEFAULT_MAX_AGE, System::nanoTime);

    public AgentApiService(
            TrustDomain trustDomain,
            DataStore dataStore,
            CaManager ca,
            Map<String, NodeAttestor> attestors,
            AuthorizedEntries authorized,
            Duration agentTtl,
            Duration defaultX509Ttl,
            Duration defaultJwtTtl,
            ServerMetrics metrics,
            AgentSyncs syncs) {
        this.syncs = syncs;
        this.trustDomain = trustDomain;
        this.dataStore = dataStore;
        this.ca = ca;
        this.attestors = Map.copyOf(attestors);
        this.authorized = authorized;
        this.agentTtl = agentTtl;
        this.defaultX509Ttl = defaultX509Ttl;
        this.defaultJwtTtl = defaultJwtTtl;
        this.metrics = metrics;
    }

    private static SpiffeId caller() {
        return AgentAuthInterceptor.AGENT_ID.get();
    }

    // ------------------------------------------------------------------ attestation

    @Override
    public StreamObserver<AttestAgentRequest> attestAgent(StreamObserver<AttestAgentResponse> out) {
        return new StreamObserver<>() {
            private NodeAttestor attestor;
            private PublicKey agentKey;
            private NodeAttestor.ChallengeVerifier pending;
            private boolean done;

            @Override
            public void onNext(AttestAgentRequest req) {
                if (done) {
                    return;
                }
                try {
                    if (req.hasParams()) {
                        if (attestor != null) {
                            throw Status.INVALID_ARGUMENT
                                    .withDescription("params sent twice")
                                    .asRuntimeException();
                        }
                        String type = req.getParams().getData().getType();
                        attestor = attestors.get(type);
                        if (attestor == null) {
                            refuse(
                                    type,
                                    "node attestor \""
                                            + type
                                            + "\" is not configured on this server (configured: "
                                            + attestors.keySet()
                                            + ")",
                                    Status.INVALID_ARGUMENT);
                            return;
                        }
                        try {
                            // Parse the CSR first so a bad CSR never burns a one-time join token.
                            agentKey =
                                    Csr.parse(req.getParams().getCsr().toByteArray()).publicKey();
                        } catch (PkiException e) {
                            refuse(
                                    type,
                                    "agent CSR is invalid: " + e.getMessage(),
                                    Status.INVALID_ARGUMENT);
                            return;
                        }
                        NodeAttestor.Step step =
                                attestor.begin(
                                        req.getParams().getData().getPayload().toByteArray());
                        if (step instanceof NodeAttestor.Done d) {
                            finish(d.result());
                        } else if (step instanceof NodeAttestor.Challenge c) {
                            pending = c.verifier();
                            out.onNext(
                                    AttestAgentResponse.newBuilder()
                                            .setChallenge(
                                                    com.google.protobuf.ByteString.copyFrom(
                                                            c.challenge()))
                                            .build());
                        }
                    } else if (req.getStepCase()
                            == AttestAgentRequest.StepCase.CHALLENGE_RESPONSE) {
                        if (pending == null) {
                            throw Status.INVALID_ARGUMENT
                                    .withDescription("challenge response without a challenge")
                                    .asRuntimeException();
                        }
                        NodeAttestor.ChallengeVerifier v = pending;
                        pending = null;
                        finish(v.verify(req.getChallengeResponse().toByteArray()));
                    } else {
                        throw Status.INVALID_ARGUMENT
                                .withDescription("empty attestation request")
                                .asRuntimeException();
                    }
                } catch (AttestationException e) {
                    refuse(
                            attestor == null ? "?" : attestor.type(),
                            e.getMessage(),
                            Status.PERMISSION_DENIED);
                } catch (io.grpc.StatusRuntimeException e) {
                    done = true;
                    out.onError(e);
                } catch (io.mithril.server.datastore.DataStoreUnavailableException e) {
                    // The caller is not authenticated yet: the database's address and name stay in
                    // the server's log.
                    log.warn("Node attestation could not complete: {}", e.getMessage());
                    done = true;
                    out.onError(
                            Status.UNAVAILABLE
                                    .withDescription("datastore unavailable; try again")
                                    .asRuntimeException());
                } catch (RuntimeException e) {
                    log.error("Node attestation failed unexpectedly", e);
                    done = true;
                    out.onError(
                            Status.INTERNAL
                                    .withDescription("internal error (see the server's log)")
                                    .asRuntimeException());
                }
            }

            private void refuse(String type, String reason, Status status) {
                refuse(
                        type,
                        reason,
                        status.withDescription("attestation refused: " + reason)
                                .asRuntimeException());
            }

            private void refuse(String type, String reason, io.grpc.StatusRuntimeException error) {
                done = true;
                metrics.attestation(type, false);
                log.warn("Node attestation refused: type={} reason={}", type, redact(reason));
                out.onError(error);
            }

            private void finish(AttestationResult r) {
                Optional<AttestedNode> existing = dataStore.fetchAttestedNode(r.agentId());
                if (existing.isPresent() && existing.get().banned()) {
                    String reason = "agent " + r.agentId() + " is banned";
                    refuse(
                            attestor.type(),
                            reason,
                            AgentRefusal.permissionDenied(
                                    PermissionDeniedDetails.Reason.AGENT_BANNED,
                                    "attestation refused: " + reason));
                    return;
                }
                List<X509Certificate> chain =
                        ca.signX509Svid(agentKey, r.agentId(), List.of(), agentTtl);
                X509Certificate leaf = chain.get(0);
                long created =
                        existing.map(AttestedNode::createdAt)
                                .orElse(ca.clock().instant().getEpochSecond());
                dataStore.upsertAttestedNode(
                        new AttestedNode(
                                r.agentId(),
                                attestor.type(),
                                leaf.getSerialNumber().toString(),
                                leaf.getNotAfter().toInstant().getEpochSecond(),
                                false,
                                r.selectors(),
                                created));
                metrics.attestation(attestor.type(), true);
                metrics.svidSigned("agent");
                log.info(
                        "Agent attested: agent_id={} type={} serial={} reattestable={} selectors={}",
                        redact(r.agentId()),
                        attestor.type(),
                        leaf.getSerialNumber(),
                        r.reattestable(),
                        redact(r.selectors()));
                done = true;
                out.onNext(
                        AttestAgentResponse.newBuilder()
                                .setResult(
                                        AttestAgentResponse.Result.newBuilder()
                                                .setSvid(
                                                        ProtoConverters.toProto(r.agentId(), chain))
                                                .setBundle(ca.bundleProto())
                                                .setReattestable(r.reattestable()))
                                .build());
                out.onCompleted();
            }

            @Override
            public void onError(Throwable t) {
                done = true;
            }

            @Override
            public void onCompleted() {
                if (!done) {
                    done = true;
                    out.onError(
                            Status.INVALID_ARGUMENT
                                    .withDescription("stream ended before attestation completed")
                                    .asRuntimeException());
                }
            }
        };
    }

    @Override
    public void renewAgent(RenewAgentRequest req, StreamObserver<RenewAgentResponse> out) {
        SpiffeId agent = caller();
        PublicKey key;
        try {
            key = Csr.parse(req.getCsr().toByteArray()).publicKey();
        } catch (PkiException e) {
            out.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("agent CSR is invalid: " + e.getMessage())
                            .asRuntimeException());
            return;
        }
        List<X509Certificate> chain = ca.signX509Svid(key, agent, List.of(), agentTtl);
        X509Certificate leaf = chain.get(0);
        if (!dataStore.updateAttestedNodeSvid(
                agent,
                leaf.getSerialNumber().toString(),
                leaf.getNotAfter().toInstant().getEpochSecond())) {
            out.onError(
                    AgentRefusal.permissionDenied(
                            PermissionDeniedDetails.Reason.AGENT_NOT_ATTESTED,
                            "agent " + agent + " is not attested"));
            return;
        }
        metrics.svidSigned("agent");
        log.info(
                "Agent SVID renewed: agent_id={} serial={} notAfter={}",
                redact(agent),
                leaf.getSerialNumber(),
                leaf.getNotAfter().toInstant());
        out.onNext(
                RenewAgentResponse.newBuilder()
                        .setSvid(ProtoConverters.toProto(agent, chain))
                        .build());
        out.onCompleted();
    }

    // ------------------------------------------------------------------ entries and SVIDs

    @Override
    public void getAuthorizedEntries(
            GetAuthorizedEntriesRequest req, StreamObserver<GetAuthorizedEntriesResponse> out) {
        syncs.synced(caller());
        out.onNext(
                GetAuthorizedEntriesResponse.newBuilder()
                        .addAllEntries(authorized.forAgentAsProto(caller()))
                        .build());
        out.onCompleted();
    }

    @Override
    public void batchNewX509SVID(
            BatchNewX509SVIDRequest req, StreamObserver<BatchNewX509SVIDResponse> out) {
        SpiffeId agent = caller();
        // Authorisation is checked per entry (walking up its parents), not by computing the
        // agent's whole authorised set: an agent with 10k entries signs a batch in milliseconds.
        Map<String, Optional<RegistrationEntry>> checked = new java.util.HashMap<>();
        BatchNewX509SVIDResponse.Builder resp = BatchNewX509SVIDResponse.newBuilder();
        for (NewX509SVIDParams p : req.getParamsList()) {
            Optional<RegistrationEntry> entry =
                    checked.computeIfAbsent(
                            p.getEntryId(), id -> authorized.authorizedEntry(agent, id));
            resp.addResults(signOne(agent, entry.orElse(null), p));
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    private BatchNewX509SVIDResponse.Result signOne(
            SpiffeId agent, RegistrationEntry entry, NewX509SVIDParams p) {
        if (entry == null) {
            return refused(
                    agent,
                    p.getEntryId(),
                    io.grpc.Status.Code.PERMISSION_DENIED,
                    "entry " + p.getEntryId() + " is not authorised for agent " + agent);
        }
        Csr csr;
        try {
            csr = Csr.parse(p.getCsr().toByteArray());
        } catch (PkiException e) {
            return refused(
                    agent,
                    p.getEntryId(),
                    io.grpc.Status.Code.INVALID_ARGUMENT,
                    "CSR is invalid: " + e.getMessage());
        }
        if (csr.spiffeId().isEmpty() || !csr.spiffeId().get().equals(entry.spiffeId())) {
            return refused(
                    agent,
                    p.getEntryId(),
                    io.grpc.Status.Code.INVALID_ARGUMENT,
                    "CSR SPIFFE ID "
                            + csr.spiffeId().map(Object::toString).orElse("(none)")
                            + " does not match entry SPIFFE ID "
                            + entry.spiffeId());
        }
        Duration ttl =
                entry.x509SvidTtlSeconds() > 0
                        ? Duration.ofSeconds(entry.x509SvidTtlSeconds())
                        : defaultX509Ttl;
        List<X509Certificate> chain =
                ca.signX509Svid(csr.publicKey(), entry.spiffeId(), entry.dnsNames(), ttl);
        metrics.svidSigned("x509");
        if (log.isDebugEnabled()) {
            log.debug(
                    "X509-SVID signed: spiffe_id={} entry_id={} agent_id={} serial={} notAfter={}",
                    entry.spiffeId(),
                    entry.id(),
                    redact(agent),
                    chain.get(0).getSerialNumber(),
                    chain.get(0).getNotAfter().toInstant());
        }
        return BatchNewX509SVIDResponse.Result.newBuilder()
                .setStatus(io.mithril.api.types.Status.newBuilder().setCode(0))
                .setSvid(ProtoConverters.toProto(entry.spiffeId(), chain))
                .build();
    }

    private BatchNewX509SVIDResponse.Result refused(
            SpiffeId agent, String entryId, io.grpc.Status.Code code, String reason) {
        metrics.svidRefused();
        log.warn(
                "X509-SVID request refused: agent_id={} entry_id={} reason={}",
                redact(agent),
                entryId,
                redact(reason));
        return BatchNewX509SVIDResponse.Result.newBuilder()
                .setStatus(
                        io.mithril.api.types.Status.newBuilder()
                                .setCode(code.value())
                                .setMessage(reason))
                .build();
    }

    @Override
    public void newJWTSVID(NewJWTSVIDRequest req, StreamObserver<NewJWTSVIDResponse> out) {
        SpiffeId agent = caller();
        RegistrationEntry entry = authorized.authorizedEntry(agent, req.getEntryId()).orElse(null);
        if (entry == null) {
            String reason = "entry " + req.getEntryId() + " is not authorised for agent " + agent;
            metrics.svidRefused();
            log.warn(
                    "JWT-SVID request refused: agent_id={} reason={}",
                    redact(agent),
                    redact(reason));
            out.onError(Status.PERMISSION_DENIED.withDescription(reason).asRuntimeException());
            return;
        }
        if (req.getAudienceCount() == 0
                || req.getAudienceList().stream().anyMatch(String::isEmpty)) {
            out.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("a JWT-SVID needs at least one non-empty audience")
                            .asRuntimeException());
            return;
        }
        Duration ttl =
                entry.jwtSvidTtlSeconds() > 0
                        ? Duration.ofSeconds(entry.jwtSvidTtlSeconds())
                        : defaultJwtTtl;
        CaManager.SignedJwt jwt = ca.signJwtSvid(entry.spiffeId(), req.getAudienceList(), ttl);
        metrics.svidSigned("jwt");
        log.debug(
                "JWT-SVID signed: spiffe_id={} agent_id={} audience={}",
                entry.spiffeId(),
                redact(agent),
                req.getAudienceList());
        out.onNext(
                NewJWTSVIDResponse.newBuilder()
                        .setSpiffeId(entry.spiffeId().toString())
                        .setToken(jwt.token())
                        .setIssuedAt(jwt.issuedAt().getEpochSecond())
                        .setExpiresAt(jwt.expiresAt().getEpochSecond())
                        .build());
        out.onCompleted();
    }

    @Override
    public void fetchBundles(FetchBundlesRequest req, StreamObserver<FetchBundlesResponse> out) {
        out.onNext(bundles.get());
        out.onCompleted();
    }

    /**
     * The bundles as the datastore holds them now (two queries); {@link #bundles} shares one read
     * per second.
     */
    private FetchBundlesResponse readBundles() {
        FetchBundlesResponse.Builder b =
                FetchBundlesResponse.newBuilder().setBundle(ca.bundleProto());
        for (Bundle fb : dataStore.listBundles()) {
            if (!fb.getTrustDomain().equals(trustDomain.name())) {
                b.addFederatedBundles(fb);
            }
        }
        return b.build();
    }
}
