package io.mithril.server.api.admin;

import static io.mithril.server.attestor.JoinTokenAttestor.redact;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.mithril.api.admin.AdminServiceGrpc;
import io.mithril.api.admin.BanAgentRequest;
import io.mithril.api.admin.BanAgentResponse;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.admin.BatchDeleteEntryRequest;
import io.mithril.api.admin.BatchDeleteEntryResponse;
import io.mithril.api.admin.BatchDeleteFederatedBundleRequest;
import io.mithril.api.admin.BatchDeleteFederatedBundleResponse;
import io.mithril.api.admin.BatchSetFederatedBundleRequest;
import io.mithril.api.admin.BatchSetFederatedBundleResponse;
import io.mithril.api.admin.BatchUpdateEntryRequest;
import io.mithril.api.admin.BatchUpdateEntryResponse;
import io.mithril.api.admin.CountEntriesRequest;
import io.mithril.api.admin.CountEntriesResponse;
import io.mithril.api.admin.CreateJoinTokenRequest;
import io.mithril.api.admin.DeleteAgentRequest;
import io.mithril.api.admin.DeleteAgentResponse;
import io.mithril.api.admin.DeleteFederationRelationshipResponse;
import io.mithril.api.admin.FederationRelationshipRequest;
import io.mithril.api.admin.GetAgentRequest;
import io.mithril.api.admin.GetBundleRequest;
import io.mithril.api.admin.GetEntryRequest;
import io.mithril.api.admin.JoinToken;
import io.mithril.api.admin.JwtAuthority;
import io.mithril.api.admin.ListAgentsRequest;
import io.mithril.api.admin.ListAgentsResponse;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.admin.ListEntriesResponse;
import io.mithril.api.admin.ListFederatedBundlesRequest;
import io.mithril.api.admin.ListFederatedBundlesResponse;
import io.mithril.api.admin.ListFederationRelationshipsRequest;
import io.mithril.api.admin.ListFederationRelationshipsResponse;
import io.mithril.api.admin.ListJwtAuthoritiesRequest;
import io.mithril.api.admin.ListJwtAuthoritiesResponse;
import io.mithril.api.admin.ListX509AuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesResponse;
import io.mithril.api.admin.TrustDomainRequest;
import io.mithril.api.admin.X509Authority;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Agent;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.Entry;
import io.mithril.api.types.FederationRelationship;
import io.mithril.pki.Certificates;
import io.mithril.pki.PkiException;
import io.mithril.server.api.AgentSyncs;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.attestor.JoinTokenAttestor;
import io.mithril.server.ca.BundleCodec;
import io.mithril.server.ca.CaManager;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.datastore.DuplicateEntryException;
import io.mithril.server.datastore.EntryCreateResult;
import io.mithril.server.datastore.EntryFilter;
import io.mithril.server.entry.InvalidEntryException;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.federation.BundleEndpointClient;
import io.mithril.server.federation.FederationManager;
import io.mithril.server.federation.Relationship;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API ({@code mithril.admin.v1.AdminService}) on the server's Unix socket: entries, join
 * tokens, bundles, agents. {@link #createEntry} and {@link #generateJoinToken} are also the
 * programmatic entry points {@code IdentityServer} exposes.
 */
public final class AdminApiService extends AdminServiceGrpc.AdminServiceImplBase {

    private static final Logger log = LoggerFactory.getLogger(AdminApiService.class);

    /** SPIRE's default join token lifetime. */
    public static final Duration DEFAULT_JOIN_TOKEN_TTL = Duration.ofSeconds(600);

    private final TrustDomain trustDomain;
    private final DataStore dataStore;
    private final CaManager ca;
    private final Clock clock;
    private final ServerMetrics metrics;

    private final FederationManager federation;

    private final AgentSyncs syncs;

    public AdminApiService(
            TrustDomain trustDomain,
            DataStore dataStore,
            CaManager ca,
            Clock clock,
            ServerMetrics metrics) {
        this(trustDomain, dataStore, ca, clock, metrics, null);
    }

    /**
     * @param federation refreshes federated bundles; null when the server runs none (refresh then
     *     answers FAILED_PRECONDITION)
     */
    public AdminApiService(
            TrustDomain trustDomain,
            DataStore dataStore,
            CaManager ca,
            Clock clock,
            ServerMetrics metrics,
            FederationManager federation) {
        this.trustDomain = trustDomain;
        this.dataStore = dataStore;
        this.ca = ca;
        this.clock = clock;
        this.metrics = metrics;
        this.federation = federation;
        this.syncs = new AgentSyncs(clock);
    }

    /** The agents' last syncs, which the agent API records and ListAgents/GetAgent report. */
    public AgentSyncs agentSyncs() {
        return syncs;
    }

    // ------------------------------------------------------------------ programmatic

    /**
     * Refuses an entry that federates with a trust domain whose bundle the server does not hold, as
     * SPIRE does ("unable to find federated bundle"): its workloads would get nothing for it.
     */
    private RegistrationEntry withFederatedBundles(RegistrationEntry e) {
        for (String f : e.federatesWith()) {
            String td = TrustDomain.parse(f).name();
            if (dataStore.fetchBundle(td).isEmpty()) {
                throw new InvalidEntryException(
                        "federates_with \""
                                + f
                                + "\": no bundle for that trust domain; set one first "
                                + "(server bundle set, or a federation relationship that has fetched it)");
            }
        }
        return e;
    }

    /**
     * Validates and stores an entry.
     *
     * @throws InvalidEntryException when a field is invalid
     * @throws DuplicateEntryException when the same SPIFFE ID, parent and selectors exist
     */
    public RegistrationEntry createEntry(RegistrationEntry entry) {
        RegistrationEntry stored =
                dataStore.createEntry(withFederatedBundles(entry.validate(trustDomain)));
        metrics.entryCreated();
        logCreated(stored, true);
        return stored;
    }

    /** One line per created entry; a join token in its parent ID or selectors is redacted. */
    private static void logCreated(RegistrationEntry r, boolean info) {
        String line = "Entry created: entry_id={} spiffe_id={} parent_id={} selectors={}";
        Object[] args = {
            r.id(), redact(r.spiffeId()), redact(r.parentId()), redact(r.selectorStrings())
        };
        if (info) {
            log.info(line, args);
        } else {
            log.debug(line, args);
        }
    }

    /** A join token record: its value and expiry. */
    public record GeneratedToken(String value, long expiresAt) {}

    /**
     * Generates a one-time join token; with an alias, registers it as an entry parented by the
     * token's agent ID (selector {@code spiffe_id:<agent ID>}), as spire-server does.
     *
     * @throws InvalidEntryException when the alias is not a valid ID of this trust domain
     */
    public GeneratedToken generateJoinToken(Duration ttl, SpiffeId alias) {
        Duration t = ttl == null || ttl.isZero() ? DEFAULT_JOIN_TOKEN_TTL : ttl;
        if (t.isNegative()) {
            throw new InvalidEntryException(
                    "join token ttl must be positive (found " + t.getSeconds() + "s)");
        }
        String token = UUID.randomUUID().toString();
        SpiffeId agentId = JoinTokenAttestor.agentId(trustDomain, token);
        RegistrationEntry aliasEntry = null;
        if (alias != null) {
            aliasEntry =
                    RegistrationEntry.of(
                                    alias,
                                    agentId,
                                    List.of(new Selector("spiffe_id", agentId.toString())))
                            .validate(trustDomain);
        }
        long expires = clock.instant().plus(t).getEpochSecond();
        dataStore.createJoinToken(new io.mithril.server.datastore.JoinToken(token, expires));
        if (aliasEntry != null) {
            createEntry(aliasEntry);
        }
        log.info(
                "Join token generated: expires_at={} alias={}",
                expires,
                alias == null ? "" : alias);
        return new GeneratedToken(token, expires);
    }

    private static io.mithril.api.types.Status ok() {
        return io.mithril.api.types.Status.newBuilder().setCode(0).setMessage("OK").build();
    }

    private static io.mithril.api.types.Status status(Status.Code code, String message) {
        return io.mithril.api.types.Status.newBuilder()
                .setCode(code.value())
                .setMessage(message)
                .build();
    }

    // ------------------------------------------------------------------ entries

    @Override
    public void batchCreateEntry(
            BatchCreateEntryRequest req, StreamObserver<BatchCreateEntryResponse> out) {
        // Validate every entry first; store the valid ones in one transaction.
        BatchCreateEntryResponse.Result[] results =
                new BatchCreateEntryResponse.Result[req.getEntriesCount()];
        List<RegistrationEntry> valid = new ArrayList<>();
        List<Integer> validIndex = new ArrayList<>();
        for (int i = 0; i < req.getEntriesCount(); i++) {
            Entry e = req.getEntries(i);
            try {
                valid.add(withFederatedBundles(ProtoConverters.fromProto(e).validate(trustDomain)));
                validIndex.add(i);
            } catch (InvalidEntryException ex) {
                log.warn(
                        "Entry refused: spiffe_id={} reason={}",
                        redact(e.getSpiffeId()),
                        redact(ex.getMessage()));
                results[i] =
                        BatchCreateEntryResponse.Result.newBuilder()
                                .setStatus(
                                        status(
                                                Status.Code.INVALID_ARGUMENT,
                                                "invalid entry: " + ex.getMessage()))
                                .setEntry(e)
                                .build();
            }
        }
        List<EntryCreateResult> stored =
                valid.isEmpty() ? List.of() : dataStore.createEntries(valid);
        // One line per entry for a single create; a large batch (a migration, the bench) gets one
        // summary line.
        boolean single = req.getEntriesCount() == 1;
        int created = 0;
        for (int k = 0; k < stored.size(); k++) {
            int i = validIndex.get(k);
            Entry e = req.getEntries(i);
            EntryCreateResult result = stored.get(k);
            if (result instanceof EntryCreateResult.Created c) {
                RegistrationEntry r = c.entry();
                metrics.entryCreated();
                created++;
                if (single || log.isDebugEnabled()) {
                    logCreated(r, single);
                }
                results[i] =
                        BatchCreateEntryResponse.Result.newBuilder()
                                .setStatus(ok())
                                .setEntry(ProtoConverters.toProto(r))
                                .build();
            } else {
                EntryCreateResult.AlreadyExists dup =
                        (EntryCreateResult.AlreadyExists) result; // the other of the two
                log.warn(
                        "Entry refused: spiffe_id={} reason={}",
                        redact(e.getSpiffeId()),
                        redact(dup.reason()));
                Entry existing =
                        dataStore
                                .fetchEntry(dup.existingId())
                                .map(ProtoConverters::toProto)
                                .orElse(e);
                results[i] =
                        BatchCreateEntryResponse.Result.newBuilder()
                                .setStatus(
                                        status(
                                                Status.Code.ALREADY_EXISTS,
                                                "similar entry already exists"))
                                .setEntry(existing)
                                .build();
            }
        }
        if (!single && created > 0) {
            log.info("Entries created: count={} of a batch of {}", created, req.getEntriesCount());
        }
        out.onNext(BatchCreateEntryResponse.newBuilder().addAllResults(List.of(results)).build());
        out.onCompleted();
    }

    @Override
    public void listEntries(ListEntriesRequest req, StreamObserver<ListEntriesResponse> out) {
        ListEntriesRequest.Filter f = req.getFilter();
        EntryFilter filter;
        try {
            List<Selector> sels = new ArrayList<>();
            f.getBySelectorsList().forEach(s -> sels.add(ProtoConverters.fromProto(s)));
            EntryFilter.Match match =
                    f.getMatch().isEmpty()
                            ? EntryFilter.Match.SUPERSET
                            : EntryFilter.Match.valueOf(f.getMatch().toUpperCase(Locale.ROOT));
            filter =
                    new EntryFilter(
                            f.getBySpiffeId().isEmpty()
                                    ? null
                                    : ProtoConverters.spiffeId("spiffeID", f.getBySpiffeId()),
                            f.getByParentId().isEmpty()
                                    ? null
                                    : ProtoConverters.spiffeId("parentID", f.getByParentId()),
                            sels,
                            match);
        } catch (IllegalArgumentException ex) {
            out.onError(
                    Status.INVALID_ARGUMENT.withDescription(ex.getMessage()).asRuntimeException());
            return;
        }
        ListEntriesResponse.Builder b = ListEntriesResponse.newBuilder();
        dataStore.listEntries(filter).forEach(e -> b.addEntries(ProtoConverters.toProto(e)));
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void getEntry(GetEntryRequest req, StreamObserver<Entry> out) {
        Optional<RegistrationEntry> e = dataStore.fetchEntry(req.getId());
        if (e.isEmpty()) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no entry with ID " + req.getId())
                            .asRuntimeException());
            return;
        }
        out.onNext(ProtoConverters.toProto(e.get()));
        out.onCompleted();
    }

    @Override
    public void batchUpdateEntry(
            BatchUpdateEntryRequest req, StreamObserver<BatchUpdateEntryResponse> out) {
        BatchUpdateEntryResponse.Builder resp = BatchUpdateEntryResponse.newBuilder();
        for (Entry e : req.getEntriesList()) {
            BatchUpdateEntryResponse.Result.Builder r =
                    BatchUpdateEntryResponse.Result.newBuilder().setEntry(e);
            try {
                Optional<RegistrationEntry> updated =
                        dataStore.updateEntry(
                                withFederatedBundles(
                                        ProtoConverters.fromProto(e).validate(trustDomain)));
                if (updated.isEmpty()) {
                    r.setStatus(status(Status.Code.NOT_FOUND, "no entry with ID " + e.getId()));
                } else {
                    log.info(
                            "Entry updated: entry_id={} spiffe_id={} revision={}",
                            e.getId(),
                            redact(updated.get().spiffeId()),
                            updated.get().revisionNumber());
                    r.setStatus(ok()).setEntry(ProtoConverters.toProto(updated.get()));
                }
            } catch (InvalidEntryException ex) {
                r.setStatus(
                        status(Status.Code.INVALID_ARGUMENT, "invalid entry: " + ex.getMessage()));
            } catch (DuplicateEntryException ex) {
                r.setStatus(status(Status.Code.ALREADY_EXISTS, ex.getMessage()));
            }
            resp.addResults(r);
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    @Override
    public void batchDeleteEntry(
            BatchDeleteEntryRequest req, StreamObserver<BatchDeleteEntryResponse> out) {
        BatchDeleteEntryResponse.Builder resp = BatchDeleteEntryResponse.newBuilder();
        for (String id : req.getIdsList()) {
            Optional<RegistrationEntry> d = dataStore.deleteEntry(id);
            if (d.isPresent()) {
                log.info("Entry deleted: entry_id={} spiffe_id={}", id, redact(d.get().spiffeId()));
            }
            resp.addResults(
                    BatchDeleteEntryResponse.Result.newBuilder()
                            .setId(id)
                            .setStatus(
                                    d.isPresent()
                                            ? ok()
                                            : status(
                                                    Status.Code.NOT_FOUND,
                                                    "no entry with ID " + id)));
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    @Override
    public void countEntries(CountEntriesRequest req, StreamObserver<CountEntriesResponse> out) {
        out.onNext(CountEntriesResponse.newBuilder().setCount(dataStore.countEntries()).build());
        out.onCompleted();
    }

    // ------------------------------------------------------------------ join tokens

    @Override
    public void createJoinToken(CreateJoinTokenRequest req, StreamObserver<JoinToken> out) {
        try {
            SpiffeId alias =
                    req.getAgentId().isEmpty()
                            ? null
                            : ProtoConverters.spiffeId("spiffeID", req.getAgentId());
            GeneratedToken t = generateJoinToken(Duration.ofSeconds(req.getTtl()), alias);
            out.onNext(
                    JoinToken.newBuilder().setValue(t.value()).setExpiresAt(t.expiresAt()).build());
            out.onCompleted();
        } catch (InvalidEntryException | DuplicateEntryException ex) {
            out.onError(
                    Status.INVALID_ARGUMENT.withDescription(ex.getMessage()).asRuntimeException());
        }
    }

    // ------------------------------------------------------------------ bundles

    @Override
    public void getBundle(GetBundleRequest req, StreamObserver<Bundle> out) {
        out.onNext(ca.bundleProto());
        out.onCompleted();
    }

    @Override
    public void listX509Authorities(
            ListX509AuthoritiesRequest req, StreamObserver<ListX509AuthoritiesResponse> out) {
        ListX509AuthoritiesResponse.Builder b = ListX509AuthoritiesResponse.newBuilder();
        try {
            CaManager.X509Ca active = ca.currentX509Ca();
            if (active != null) {
                b.addAuthorities(authority("active", active));
            }
            java.util.Optional<CaManager.X509Ca> next = ca.nextX509Ca();
            if (next.isPresent()) {
                b.addAuthorities(authority("prepared", next.get()));
            }
            java.util.Optional<CaManager.X509Ca> old = ca.oldX509Ca();
            if (old.isPresent()) {
                b.addAuthorities(authority("old", old.get()));
            }
        } catch (java.security.cert.CertificateEncodingException e) {
            out.onError(
                    io.grpc.Status.INTERNAL
                            .withDescription("cannot encode a CA certificate: " + e.getMessage())
                            .asRuntimeException());
            return;
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void listJwtAuthorities(
            ListJwtAuthoritiesRequest req, StreamObserver<ListJwtAuthoritiesResponse> out) {
        ListJwtAuthoritiesResponse.Builder b = ListJwtAuthoritiesResponse.newBuilder();
        if (ca.currentJwtKey() != null) {
            b.addAuthorities(jwtAuthority("active", ca.currentJwtKey()));
        }
        ca.nextJwtKey().ifPresent(k -> b.addAuthorities(jwtAuthority("prepared", k)));
        ca.oldJwtKey().ifPresent(k -> b.addAuthorities(jwtAuthority("old", k)));
        out.onNext(b.build());
        out.onCompleted();
    }

    private static JwtAuthority jwtAuthority(String slot, CaManager.JwtSigningKey k) {
        return JwtAuthority.newBuilder()
                .setSlot(slot)
                .setKeyId(k.keyId())
                .setKid(k.kid())
                .setPublicKey(
                        com.google.protobuf.ByteString.copyFrom(
                                k.keyPair().getPublic().getEncoded()))
                .setNotBefore(k.notBefore().getEpochSecond())
                .setNotAfter(k.notAfter().getEpochSecond())
                .build();
    }

    private static X509Authority authority(String slot, CaManager.X509Ca ca)
            throws java.security.cert.CertificateEncodingException {
        X509Authority.Builder a = X509Authority.newBuilder().setSlot(slot).setKeyId(ca.keyId());
        java.util.List<java.security.cert.X509Certificate> all =
                new java.util.ArrayList<>(ca.chain());
        ca.roots().stream().filter(r -> !all.contains(r)).forEach(all::add);
        for (java.security.cert.X509Certificate c : all) {
            a.addCertChain(com.google.protobuf.ByteString.copyFrom(c.getEncoded()));
        }
        return a.build();
    }

    @Override
    public void listFederatedBundles(
            ListFederatedBundlesRequest req, StreamObserver<ListFederatedBundlesResponse> out) {
        ListFederatedBundlesResponse.Builder b = ListFederatedBundlesResponse.newBuilder();
        for (Bundle bundle : dataStore.listBundles()) {
            if (!bundle.getTrustDomain().equals(trustDomain.name())) {
                b.addBundles(bundle);
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void batchSetFederatedBundle(
            BatchSetFederatedBundleRequest req,
            StreamObserver<BatchSetFederatedBundleResponse> out) {
        BatchSetFederatedBundleResponse.Builder resp = BatchSetFederatedBundleResponse.newBuilder();
        for (Bundle b : req.getBundlesList()) {
            BatchSetFederatedBundleResponse.Result.Builder r =
                    BatchSetFederatedBundleResponse.Result.newBuilder()
                            .setTrustDomain(b.getTrustDomain());
            try {
                TrustDomain td = TrustDomain.parse(b.getTrustDomain());
                if (td.equals(trustDomain)) {
                    r.setStatus(
                            status(
                                    Status.Code.INVALID_ARGUMENT,
                                    "\""
                                            + td
                                            + "\" is the server's own trust domain; "
                                            + "its bundle is managed by the CA"));
                } else {
                    for (ByteString der : b.getX509AuthoritiesList()) {
                        Certificates.parseDer(der.toByteArray());
                    }
                    Bundle stored = b.toBuilder().setTrustDomain(td.name()).build();
                    dataStore.setBundle(stored);
                    log.info(
                            "Federated bundle set: trust_domain={} x509_authorities={}",
                            td,
                            b.getX509AuthoritiesCount());
                    r.setStatus(ok());
                }
            } catch (InvalidSpiffeIdException | PkiException ex) {
                r.setStatus(status(Status.Code.INVALID_ARGUMENT, ex.getMessage()));
            }
            resp.addResults(r);
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    @Override
    public void batchDeleteFederatedBundle(
            BatchDeleteFederatedBundleRequest req,
            StreamObserver<BatchDeleteFederatedBundleResponse> out) {
        BatchDeleteFederatedBundleResponse.Builder resp =
                BatchDeleteFederatedBundleResponse.newBuilder();
        for (String name : req.getTrustDomainsList()) {
            BatchDeleteFederatedBundleResponse.Result.Builder r =
                    BatchDeleteFederatedBundleResponse.Result.newBuilder().setTrustDomain(name);
            String td;
            try {
                td = TrustDomain.parse(name).name();
            } catch (InvalidSpiffeIdException ex) {
                resp.addResults(r.setStatus(status(Status.Code.INVALID_ARGUMENT, ex.getMessage())));
                continue;
            }
            String mode =
                    req.getMode().isEmpty()
                            ? "restrict"
                            : req.getMode().toLowerCase(java.util.Locale.ROOT);
            List<RegistrationEntry> federating =
                    td.equals(trustDomain.name()) ? List.of() : entriesFederatingWith(td);
            if (td.equals(trustDomain.name())) {
                r.setStatus(
                        status(
                                Status.Code.INVALID_ARGUMENT,
                                "cannot delete the server's own bundle"));
            } else if (!Set.of("restrict", "delete", "dissociate").contains(mode)) {
                r.setStatus(
                        status(
                                Status.Code.INVALID_ARGUMENT,
                                "mode \""
                                        + req.getMode()
                                        + "\" is not one of restrict, delete, dissociate"));
            } else if (dataStore.fetchBundle(td).isEmpty()) {
                r.setStatus(status(Status.Code.NOT_FOUND, "no bundle for trust domain " + td));
            } else if (mode.equals("restrict") && !federating.isEmpty()) {
                r.setStatus(
                        status(
                                Status.Code.FAILED_PRECONDITION,
                                "cannot delete the bundle of "
                                        + td
                                        + ": "
                                        + federating.size()
                                        + " registration entr"
                                        + (federating.size() == 1 ? "y federates" : "ies federate")
                                        + " with it (use -mode delete or -mode dissociate)"));
            } else if (deleteFederatingEntries(td, mode, federating)
                    && dataStore.deleteBundle(td)) {
                log.info("Federated bundle deleted: trust_domain={}", td);
                r.setStatus(ok());
            } else {
                r.setStatus(status(Status.Code.NOT_FOUND, "no bundle for trust domain " + td));
            }
            resp.addResults(r);
        }
        out.onNext(resp.build());
        out.onCompleted();
    }

    private List<RegistrationEntry> entriesFederatingWith(String td) {
        return dataStore.listEntries(EntryFilter.ALL).stream()
                .filter(e -> e.federatesWith().stream().anyMatch(f -> sameTrustDomain(f, td)))
                .toList();
    }

    private static boolean sameTrustDomain(String name, String td) {
        try {
            return TrustDomain.parse(name).name().equals(td);
        } catch (InvalidSpiffeIdException e) {
            return false;
        }
    }

    /**
     * For mode delete or dissociate: removes the entries' tie to {@code td}. Always true (so the
     * bundle is deleted next).
     */
    private boolean deleteFederatingEntries(
            String td, String mode, List<RegistrationEntry> federating) {
        for (RegistrationEntry e : federating) {
            if (mode.equals("delete")) {
                dataStore.deleteEntry(e.id());
                log.info(
                        "Entry deleted with the bundle of {}: entry_id={} spiffe_id={}",
                        td,
                        e.id(),
                        e.spiffeId());
            } else if (mode.equals("dissociate")) {
                dataStore.updateEntry(
                        e.withFederatesWith(
                                e.federatesWith().stream()
                                        .filter(f -> !sameTrustDomain(f, td))
                                        .toList()));
                log.info(
                        "Entry no longer federates with {}: entry_id={} spiffe_id={}",
                        td,
                        e.id(),
                        e.spiffeId());
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ federation relationships

    /**
     * Validates a relationship from the wire; answers INVALID_ARGUMENT and returns null when it is
     * bad.
     */
    private Relationship relationship(FederationRelationshipRequest req, StreamObserver<?> out) {
        Relationship r;
        try {
            r = Relationship.fromProto(req.getRelationship());
        } catch (IllegalArgumentException e) {
            out.onError(
                    Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            return null;
        }
        if (r.trustDomain().equals(trustDomain)) {
            out.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription(
                                    "\""
                                            + r.trustDomain()
                                            + "\" is the server's own trust domain; a server does not federate with itself")
                            .asRuntimeException());
            return null;
        }
        if (req.hasTrustDomainBundle()) {
            Bundle b = req.getTrustDomainBundle();
            String bundleTd;
            try {
                bundleTd = TrustDomain.parse(b.getTrustDomain()).name();
                for (ByteString der : b.getX509AuthoritiesList()) {
                    Certificates.parseDer(der.toByteArray());
                }
            } catch (InvalidSpiffeIdException | PkiException e) {
                out.onError(
                        Status.INVALID_ARGUMENT
                                .withDescription("trust domain bundle: " + e.getMessage())
                                .asRuntimeException());
                return null;
            }
            if (!bundleTd.equals(r.trustDomain().name())) {
                out.onError(
                        Status.INVALID_ARGUMENT
                                .withDescription(
                                        "trust domain bundle is for \""
                                                + bundleTd
                                                + "\", not \""
                                                + r.trustDomain()
                                                + "\"")
                                .asRuntimeException());
                return null;
            }
        }
        return r;
    }

    private void storeBootstrapBundle(FederationRelationshipRequest req) {
        if (req.hasTrustDomainBundle()) {
            dataStore.setBundle(req.getTrustDomainBundle());
            log.info(
                    "Federated bundle set with the relationship: trust_domain={} x509_authorities={}",
                    req.getTrustDomainBundle().getTrustDomain(),
                    req.getTrustDomainBundle().getX509AuthoritiesCount());
        }
    }

    @Override
    public void createFederationRelationship(
            FederationRelationshipRequest req, StreamObserver<FederationRelationship> out) {
        Relationship r = relationship(req, out);
        if (r == null) {
            return;
        }
        if (!dataStore.createFederationRelationship(r.toProto())) {
            out.onError(
                    Status.ALREADY_EXISTS
                            .withDescription(
                                    "a federation relationship with "
                                            + r.trustDomain()
                                            + " already exists (use update)")
                            .asRuntimeException());
            return;
        }
        storeBootstrapBundle(req);
        log.info("Federation relationship created: {}", r);
        relationshipsChanged();
        out.onNext(r.toProto());
        out.onCompleted();
    }

    @Override
    public void updateFederationRelationship(
            FederationRelationshipRequest req, StreamObserver<FederationRelationship> out) {
        Relationship r = relationship(req, out);
        if (r == null) {
            return;
        }
        if (!dataStore.updateFederationRelationship(r.toProto())) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no federation relationship with " + r.trustDomain())
                            .asRuntimeException());
            return;
        }
        storeBootstrapBundle(req);
        log.info("Federation relationship updated: {}", r);
        relationshipsChanged();
        out.onNext(r.toProto());
        out.onCompleted();
    }

    private void relationshipsChanged() {
        if (federation != null) {
            federation.relationshipsChanged();
        }
    }

    @Override
    public void listFederationRelationships(
            ListFederationRelationshipsRequest req,
            StreamObserver<ListFederationRelationshipsResponse> out) {
        out.onNext(
                ListFederationRelationshipsResponse.newBuilder()
                        .addAllRelationships(dataStore.listFederationRelationships())
                        .build());
        out.onCompleted();
    }

    private Optional<TrustDomain> trustDomainArg(String name, StreamObserver<?> out) {
        try {
            return Optional.of(TrustDomain.parse(name));
        } catch (InvalidSpiffeIdException e) {
            out.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("trust domain " + e.getMessage())
                            .asRuntimeException());
            return Optional.empty();
        }
    }

    @Override
    public void getFederationRelationship(
            TrustDomainRequest req, StreamObserver<FederationRelationship> out) {
        Optional<TrustDomain> td = trustDomainArg(req.getTrustDomain(), out);
        if (td.isEmpty()) {
            return;
        }
        Optional<FederationRelationship> r = dataStore.fetchFederationRelationship(td.get().name());
        if (r.isEmpty()) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no federation relationship with " + td.get())
                            .asRuntimeException());
            return;
        }
        out.onNext(r.get());
        out.onCompleted();
    }

    @Override
    public void deleteFederationRelationship(
            TrustDomainRequest req, StreamObserver<DeleteFederationRelationshipResponse> out) {
        Optional<TrustDomain> td = trustDomainArg(req.getTrustDomain(), out);
        if (td.isEmpty()) {
            return;
        }
        if (!dataStore.deleteFederationRelationship(td.get().name())) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no federation relationship with " + td.get())
                            .asRuntimeException());
            return;
        }
        log.info("Federation relationship deleted: trust_domain={} (its bundle is kept)", td.get());
        relationshipsChanged();
        out.onNext(DeleteFederationRelationshipResponse.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void refreshBundle(TrustDomainRequest req, StreamObserver<Bundle> out) {
        Optional<TrustDomain> td = trustDomainArg(req.getTrustDomain(), out);
        if (td.isEmpty()) {
            return;
        }
        if (federation == null) {
            out.onError(
                    Status.FAILED_PRECONDITION
                            .withDescription("this server does not refresh federated bundles")
                            .asRuntimeException());
            return;
        }
        if (dataStore.fetchFederationRelationship(td.get().name()).isEmpty()) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no federation relationship with " + td.get())
                            .asRuntimeException());
            return;
        }
        try {
            out.onNext(BundleCodec.toProto(federation.refresh(td.get())));
            out.onCompleted();
        } catch (BundleEndpointClient.FetchException e) {
            out.onError(
                    Status.FAILED_PRECONDITION
                            .withDescription(e.getMessage() + " (the bundle held is unchanged)")
                            .asRuntimeException());
        }
    }

    // ------------------------------------------------------------------ agents

    @Override
    public void listAgents(ListAgentsRequest req, StreamObserver<ListAgentsResponse> out) {
        ListAgentsResponse.Builder b = ListAgentsResponse.newBuilder();
        dataStore.listAttestedNodes().forEach(n -> b.addAgents(withLastSync(n)));
        out.onNext(b.build());
        out.onCompleted();
    }

    private Agent withLastSync(AttestedNode n) {
        Agent a = ProtoConverters.toProto(n);
        return syncs.lastSync(n.spiffeId())
                .map(t -> a.toBuilder().setLastSync(t.getEpochSecond()).build())
                .orElse(a);
    }

    private Optional<SpiffeId> agentId(String id, StreamObserver<?> out) {
        try {
            return Optional.of(SpiffeId.parse(id));
        } catch (InvalidSpiffeIdException ex) {
            out.onError(
                    Status.INVALID_ARGUMENT
                            .withDescription("spiffeID " + ex.getMessage())
                            .asRuntimeException());
            return Optional.empty();
        }
    }

    @Override
    public void getAgent(GetAgentRequest req, StreamObserver<Agent> out) {
        Optional<SpiffeId> id = agentId(req.getId(), out);
        if (id.isEmpty()) {
            return;
        }
        Optional<AttestedNode> n = dataStore.fetchAttestedNode(id.get());
        if (n.isEmpty()) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no agent " + req.getId())
                            .asRuntimeException());
            return;
        }
        out.onNext(withLastSync(n.get()));
        out.onCompleted();
    }

    @Override
    public void deleteAgent(DeleteAgentRequest req, StreamObserver<DeleteAgentResponse> out) {
        Optional<SpiffeId> id = agentId(req.getId(), out);
        if (id.isEmpty()) {
            return;
        }
        if (!dataStore.deleteAttestedNode(id.get())) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no agent " + req.getId())
                            .asRuntimeException());
            return;
        }
        syncs.forget(id.get());
        log.info("Agent evicted: agent_id={}", redact(id.get()));
        out.onNext(DeleteAgentResponse.getDefaultInstance());
        out.onCompleted();
    }

    @Override
    public void banAgent(BanAgentRequest req, StreamObserver<BanAgentResponse> out) {
        Optional<SpiffeId> id = agentId(req.getId(), out);
        if (id.isEmpty()) {
            return;
        }
        Optional<AttestedNode> n = dataStore.fetchAttestedNode(id.get());
        if (n.isEmpty()) {
            out.onError(
                    Status.NOT_FOUND
                            .withDescription("no agent " + req.getId())
                            .asRuntimeException());
            return;
        }
        AttestedNode a = n.get();
        dataStore.upsertAttestedNode(
                new AttestedNode(
                        a.spiffeId(),
                        a.attestationType(),
                        a.serialNumber(),
                        a.expiresAt(),
                        true,
                        a.selectors(),
                        a.createdAt()));
        log.info("Agent banned: agent_id={}", redact(id.get()));
        out.onNext(BanAgentResponse.getDefaultInstance());
        out.onCompleted();
    }
}
