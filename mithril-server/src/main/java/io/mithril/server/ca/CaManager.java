package io.mithril.server.ca;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.JwtKey;
import io.mithril.pki.Certificates;
import io.mithril.pki.CryptoProvider;
import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.pki.upstream.SelfSignedUpstreamAuthority;
import io.mithril.pki.upstream.UpstreamAuthority;
import io.mithril.server.datastore.DataStore;
import io.mithril.server.keymanager.KeyManager;
import io.mithril.server.metrics.ServerMetrics;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.JwtSvid;
import java.io.IOException;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the server's signing authorities: the X.509 CA and the JWT signing key, each in two slots
 * (current and next), as SPIRE's CA manager does, and the one each replaced (old).
 *
 * <p>Rotation rule (SPIRE's): with {@code life = notAfter - notBefore} and {@code remaining =
 * notAfter - now}, the next authority is <em>prepared</em> when {@code remaining <= min(life/2,
 * 30d)}: its key is generated in the KeyManager, it is minted through the UpstreamAuthority, and
 * its trust anchors (and JWT public key) are appended to the trust domain's bundle at once. It is
 * <em>activated</em> (starts signing) when {@code remaining <= min(life/6, 7d)}. So every peer has
 * had the new roots for a whole prepare-to-activate window before it sees anything signed by the
 * new CA.
 *
 * <p>The authority an activation replaced is kept as <em>old</em> (public part only: it signs
 * nothing more), as SPIRE's next slot keeps the previous authority's key after a rotation, until it
 * expires or the next authority is prepared into its key slot, whichever comes first. Its trust
 * anchors and JWT public key stay in the bundle until they expire (then the bundle is pruned), so
 * the SVIDs and JWT-SVIDs it signed still verify.
 *
 * <p>Which key IDs hold which slot, and their certificates, are written to the CA journal in the
 * datastore on every change; on start the journal is read back and the keys fetched from the
 * KeyManager, so a restart keeps the current CA (and the SVIDs it signed stay valid).
 *
 * <p>Thread-safe: signing reads an immutable snapshot; rotation is serialised.
 */
public final class CaManager {

    private static final Logger log = LoggerFactory.getLogger(CaManager.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration MAX_PREPARE = Duration.ofDays(30);
    private static final Duration MAX_ACTIVATE = Duration.ofDays(7);

    /** Bundle refresh hint published to consumers. */
    public static final long REFRESH_HINT_SECONDS = 300;

    /**
     * An X.509 CA in a slot. {@code chain} starts with the CA certificate; {@code roots} go to the
     * bundle.
     */
    public record X509Ca(
            String keyId,
            KeyPair keyPair,
            List<X509Certificate> chain,
            List<X509Certificate> roots) {
        public X509Ca {
            chain = List.copyOf(chain);
            roots = List.copyOf(roots);
        }

        public X509Certificate certificate() {
            return chain.get(0);
        }

        public SigningAuthority authority() {
            return new SigningAuthority(certificate(), keyPair.getPrivate(), chain);
        }

        /** The CA certificates an SVID is served with, after the leaf: the chain minus any root. */
        public List<X509Certificate> intermediates() {
            return chain.stream().filter(c -> !roots.contains(c)).toList();
        }

        public Instant notBefore() {
            return certificate().getNotBefore().toInstant();
        }

        public Instant notAfter() {
            return certificate().getNotAfter().toInstant();
        }
    }

    /** A JWT signing key in a slot. */
    public record JwtSigningKey(
            String keyId, String kid, KeyPair keyPair, Instant notBefore, Instant notAfter) {}

    private record Slots(
            X509Ca x509Current,
            X509Ca x509Next,
            X509Ca x509Old,
            JwtSigningKey jwtCurrent,
            JwtSigningKey jwtNext,
            JwtSigningKey jwtOld) {
        static final Slots EMPTY = new Slots(null, null, null, null, null, null);
    }

    /** The public part of a replaced authority: it can no longer sign. */
    private static X509Ca retired(X509Ca ca) {
        return new X509Ca(
                ca.keyId(), new KeyPair(ca.keyPair().getPublic(), null), ca.chain(), ca.roots());
    }

    private static JwtSigningKey retired(JwtSigningKey k) {
        return new JwtSigningKey(
                k.keyId(),
                k.kid(),
                new KeyPair(k.keyPair().getPublic(), null),
                k.notBefore(),
                k.notAfter());
    }

    /**
     * Whether an old authority is still kept: not expired, and its key slot not taken by a prepared
     * one.
     */
    private static boolean oldKept(
            Instant oldNotAfter, String oldKeyId, String preparedKeyId, Instant now) {
        return oldNotAfter.isAfter(now) && !oldKeyId.equals(preparedKeyId);
    }

    private final TrustDomain trustDomain;
    private final DataStore dataStore;
    private final KeyManager keyManager;
    private final UpstreamAuthority upstream;
    private final X509Minter minter;
    private final Clock clock;
    private final Duration caTtl;
    private final KeyType caKeyType;
    private final KeyType jwtKeyType;
    private final X500Principal caSubject;
    private final String journalId;
    private final String jwtIssuer;
    private final ServerMetrics metrics;
    private final SecureRandom random = new SecureRandom();
    private final List<Consumer<TrustBundle>> bundleListeners = new CopyOnWriteArrayList<>();

    private volatile Slots slots = Slots.EMPTY;
    private volatile TrustBundle bundle;

    public CaManager(
            TrustDomain trustDomain,
            DataStore dataStore,
            KeyManager keyManager,
            UpstreamAuthority upstream,
            X509Minter minter,
            Duration caTtl,
            KeyType caKeyType,
            KeyType jwtKeyType,
            X500Principal caSubject,
            String journalId,
            String jwtIssuer,
            ServerMetrics metrics) {
        this.trustDomain = trustDomain;
        this.dataStore = dataStore;
        this.keyManager = keyManager;
        this.upstream = upstream;
        this.minter = minter;
        this.clock = minter.clock();
        this.caTtl = caTtl;
        this.caKeyType = caKeyType;
        this.jwtKeyType = jwtKeyType;
        this.caSubject = caSubject;
        this.journalId = journalId;
        this.jwtIssuer = jwtIssuer;
        this.metrics = metrics;
    }

    /**
     * Loads the CA journal and the keys it names; keeps what is still valid, mints what is missing,
     * publishes the authorities in the bundle, and runs one rotation check.
     */
    public synchronized void initialize() {
        // A nested server follows its upstream's bundle (new roots, other servers' JWT keys).
        upstream.onUpstreamBundle(this::appendUpstreamBundle);
        Slots loaded = loadJournal();
        slots = loaded;
        if (loaded.x509Current() != null) {
            log.info(
                    "X509 CA loaded from journal: key={} notAfter={} subject={}",
                    loaded.x509Current().keyId(),
                    loaded.x509Current().notAfter(),
                    loaded.x509Current().certificate().getSubjectX500Principal());
        }
        if (loaded.x509Current() == null
                || !loaded.x509Current().notAfter().isAfter(clock.instant())) {
            X509Ca ca =
                    mintX509(
                            "x509-CA-A".equals(keyIdOf(loaded.x509Current()))
                                    ? "x509-CA-B"
                                    : "x509-CA-A");
            publish(ca, null);
            slots = new Slots(ca, null, null, slots.jwtCurrent(), slots.jwtNext(), slots.jwtOld());
            log.info("X509 CA activated: key={} notAfter={}", ca.keyId(), ca.notAfter());
        }
        if (slots.jwtCurrent() == null || !slots.jwtCurrent().notAfter().isAfter(clock.instant())) {
            JwtSigningKey k =
                    mintJwt(
                            "JWT-Signer-A"
                                            .equals(
                                                    slots.jwtCurrent() == null
                                                            ? null
                                                            : slots.jwtCurrent().keyId())
                                    ? "JWT-Signer-B"
                                    : "JWT-Signer-A");
            publish(null, k);
            slots =
                    new Slots(
                            slots.x509Current(),
                            slots.x509Next(),
                            slots.x509Old(),
                            k,
                            slots.jwtNext(),
                            null);
            log.info("JWT key activated: kid={} notAfter={}", k.kid(), k.notAfter());
        }
        // Re-publish what was loaded too: after a datastore restore or on a new shared database.
        publish(slots.x509Current(), slots.jwtCurrent());
        if (slots.x509Next() != null || slots.jwtNext() != null) {
            publish(slots.x509Next(), slots.jwtNext());
        }
        saveJournal();
        rotate();
    }

    private static String keyIdOf(X509Ca ca) {
        return ca == null ? null : ca.keyId();
    }

    /**
     * One rotation check: prepares or activates the next X.509 CA and JWT key as the rule says,
     * prunes expired authorities from the bundle, and refreshes the cached bundle (which other
     * servers sharing the database may have changed).
     */
    public synchronized void rotate() {
        Instant now = clock.instant();
        Slots s = slots;
        boolean changed = false;

        X509Ca cur = s.x509Current();
        X509Ca next = s.x509Next();
        X509Ca old = s.x509Old();
        if (!cur.notAfter().isAfter(now)) {
            // The server was down past its CA's expiry: nothing valid to rotate to gracefully.
            X509Ca fresh =
                    next != null && next.notAfter().isAfter(now)
                            ? next
                            : mintX509(otherSlot(cur.keyId()));
            publish(fresh, null);
            log.warn(
                    "X509 CA expired while not rotated; activated: key={} notAfter={}",
                    fresh.keyId(),
                    fresh.notAfter());
            cur = fresh;
            next = null;
            old = null;
            changed = true;
        }
        if (next == null && shouldPrepare(cur.notBefore(), cur.notAfter(), now)) {
            next = mintX509(otherSlot(cur.keyId()));
            publish(next, null);
            log.info(
                    "X509 CA prepared: key={} notAfter={} (current expires {})",
                    next.keyId(),
                    next.notAfter(),
                    cur.notAfter());
            changed = true;
        }
        if (next != null && shouldActivate(cur.notBefore(), cur.notAfter(), now)) {
            log.info(
                    "X509 CA activated: key={} notAfter={} (previous key={} expires {}, kept as old)",
                    next.keyId(),
                    next.notAfter(),
                    cur.keyId(),
                    cur.notAfter());
            old = retired(cur);
            cur = next;
            next = null;
            changed = true;
        }
        if (old != null
                && !oldKept(old.notAfter(), old.keyId(), next == null ? null : next.keyId(), now)) {
            log.info("X509 CA old slot cleared: key={} notAfter={}", old.keyId(), old.notAfter());
            old = null;
            changed = true;
        }

        JwtSigningKey jcur = s.jwtCurrent();
        JwtSigningKey jnext = s.jwtNext();
        JwtSigningKey jold = s.jwtOld();
        if (!jcur.notAfter().isAfter(now)) {
            JwtSigningKey fresh =
                    jnext != null && jnext.notAfter().isAfter(now)
                            ? jnext
                            : mintJwt(otherJwtSlot(jcur.keyId()));
            publish(null, fresh);
            log.warn("JWT key expired while not rotated; activated: kid={}", fresh.kid());
            jcur = fresh;
            jnext = null;
            jold = null;
            changed = true;
        }
        if (jnext == null && shouldPrepare(jcur.notBefore(), jcur.notAfter(), now)) {
            jnext = mintJwt(otherJwtSlot(jcur.keyId()));
            publish(null, jnext);
            log.info("JWT key prepared: kid={} notAfter={}", jnext.kid(), jnext.notAfter());
            changed = true;
        }
        if (jnext != null && shouldActivate(jcur.notBefore(), jcur.notAfter(), now)) {
            log.info(
                    "JWT key activated: kid={} notAfter={} (previous kid={}, kept as old)",
                    jnext.kid(),
                    jnext.notAfter(),
                    jcur.kid());
            jold = retired(jcur);
            jcur = jnext;
            jnext = null;
            changed = true;
        }
        if (jold != null
                && !oldKept(
                        jold.notAfter(), jold.keyId(), jnext == null ? null : jnext.keyId(), now)) {
            log.info("JWT key old slot cleared: kid={} notAfter={}", jold.kid(), jold.notAfter());
            jold = null;
            changed = true;
        }

        if (changed) {
            slots = new Slots(cur, next, old, jcur, jnext, jold);
            saveJournal();
        }
        metrics.caExpiry(cur.notAfter().getEpochSecond());
        dataStore.pruneBundle(trustDomain.name(), now.getEpochSecond());
        refreshBundle();
    }

    /** SPIRE's prepare threshold: remaining life at most min(life/2, 30d). */
    static boolean shouldPrepare(Instant notBefore, Instant notAfter, Instant now) {
        Duration life = Duration.between(notBefore, notAfter);
        Duration threshold = min(life.dividedBy(2), MAX_PREPARE);
        return Duration.between(now, notAfter).compareTo(threshold) <= 0;
    }

    /** SPIRE's activate threshold: remaining life at most min(life/6, 7d). */
    static boolean shouldActivate(Instant notBefore, Instant notAfter, Instant now) {
        Duration life = Duration.between(notBefore, notAfter);
        Duration threshold = min(life.dividedBy(6), MAX_ACTIVATE);
        return Duration.between(now, notAfter).compareTo(threshold) <= 0;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static String otherSlot(String keyId) {
        return "x509-CA-A".equals(keyId) ? "x509-CA-B" : "x509-CA-A";
    }

    private static String otherJwtSlot(String keyId) {
        return "JWT-Signer-A".equals(keyId) ? "JWT-Signer-B" : "JWT-Signer-A";
    }

    private X509Ca mintX509(String keyId) {
        KeyPair kp = keyManager.generateKey(keyId, caKeyType);
        UpstreamAuthority.MintedX509Ca minted =
                upstream.mintX509Ca(kp, trustDomain, caTtl, caSubject);
        X509Ca ca = new X509Ca(keyId, kp, minted.chain(), minted.upstreamRoots());
        log.info(
                "X509 CA minted: key={} upstream={} subject={} notAfter={}",
                keyId,
                upstream.name(),
                ca.certificate().getSubjectX500Principal(),
                ca.notAfter());
        return ca;
    }

    private JwtSigningKey mintJwt(String keyId) {
        KeyPair kp = keyManager.generateKey(keyId, jwtKeyType);
        byte[] kidBytes = new byte[24];
        random.nextBytes(kidBytes);
        String kid = Base64.getUrlEncoder().withoutPadding().encodeToString(kidBytes);
        Instant now = clock.instant();
        JwtSigningKey k = new JwtSigningKey(keyId, kid, kp, now, now.plus(caTtl));
        log.info("JWT key minted: key={} kid={} notAfter={}", keyId, kid, k.notAfter());
        return k;
    }

    /** Appends authorities to the trust domain's bundle in the datastore (atomically). */
    private void publish(X509Ca ca, JwtSigningKey jwt) {
        Bundle.Builder b =
                Bundle.newBuilder()
                        .setTrustDomain(trustDomain.name())
                        .setRefreshHint(REFRESH_HINT_SECONDS);
        if (ca != null) {
            for (X509Certificate root : ca.roots()) {
                b.addX509Authorities(der(root));
            }
        }
        if (jwt != null) {
            UpstreamAuthority.JwtKey key =
                    new UpstreamAuthority.JwtKey(
                            jwt.kid(),
                            jwt.keyPair().getPublic().getEncoded(),
                            jwt.notAfter().getEpochSecond());
            // Through the upstream when it publishes JWT keys (nested servers), as SPIRE does.
            upstream.publishJwtKey(key)
                    .orElse(List.of(key))
                    .forEach(k -> b.addJwtAuthorities(proto(k)));
        }
        dataStore.appendBundle(b.build());
        refreshBundle();
    }

    private static JwtKey proto(UpstreamAuthority.JwtKey k) {
        return JwtKey.newBuilder()
                .setKeyId(k.keyId())
                .setPublicKey(ByteString.copyFrom(k.publicKey()))
                .setExpiresAt(k.expiresAt())
                .build();
    }

    /**
     * A downstream server's JWT key (SPIRE's {@code PublishJWTAuthority}): published through this
     * server's own upstream when it has one that publishes JWT keys, else added to this trust
     * domain's bundle.
     *
     * @return every JWT key of the bundle afterwards
     */
    public List<UpstreamAuthority.JwtKey> publishDownstreamJwtKey(UpstreamAuthority.JwtKey key) {
        Bundle.Builder b = Bundle.newBuilder().setTrustDomain(trustDomain.name());
        upstream.publishJwtKey(key)
                .orElse(List.of(key))
                .forEach(k -> b.addJwtAuthorities(proto(k)));
        Bundle stored = dataStore.appendBundle(b.build());
        refreshBundle();
        return stored.getJwtAuthoritiesList().stream()
                .map(
                        k ->
                                new UpstreamAuthority.JwtKey(
                                        k.getKeyId(),
                                        k.getPublicKey().toByteArray(),
                                        k.getExpiresAt()))
                .toList();
    }

    /**
     * The upstream's bundle changed (nested servers): its roots and JWT keys are added to this
     * trust domain's bundle; expired ones leave it with the usual pruning.
     */
    private void appendUpstreamBundle(UpstreamAuthority.UpstreamBundle upstreamBundle) {
        Bundle.Builder b =
                Bundle.newBuilder()
                        .setTrustDomain(trustDomain.name())
                        .setRefreshHint(REFRESH_HINT_SECONDS);
        upstreamBundle.x509Roots().forEach(c -> b.addX509Authorities(der(c)));
        upstreamBundle.jwtKeys().forEach(k -> b.addJwtAuthorities(proto(k)));
        dataStore.appendBundle(b.build());
        refreshBundle();
    }

    /**
     * Signs a downstream server's CA key as an intermediate of this trust domain with the active CA
     * (SPIRE's {@code SignDownstreamX509CA}): subject = the active CA's subject with {@code
     * OU=DOWNSTREAM-<n>} (n = the length of the active CA's chain), never outliving the active CA.
     *
     * @param ttl the downstream's preferred lifetime; zero for this server's {@code ca_ttl}
     * @return the new CA first, then this server's intermediates (no root)
     */
    public List<X509Certificate> signDownstreamX509Ca(PublicKey key, Duration ttl) {
        X509Ca ca = slots.x509Current();
        X500Principal parent = ca.certificate().getSubjectX500Principal();
        X500NameBuilder name = new X500NameBuilder();
        for (RDN rdn : X500Name.getInstance(parent.getEncoded()).getRDNs()) {
            if (!rdn.getFirst().getType().equals(BCStyle.OU)) {
                name.addMultiValuedRDN(rdn.getTypesAndValues());
            }
        }
        name.addRDN(BCStyle.OU, "DOWNSTREAM-" + ca.chain().size());
        X500Principal subject;
        try {
            subject = new X500Principal(name.build().getEncoded());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        X509Certificate downstream =
                minter.signCa(
                        ca.authority(),
                        key,
                        trustDomain,
                        ttl.isZero() || ttl.isNegative() ? caTtl : ttl,
                        subject);
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(downstream);
        chain.addAll(ca.intermediates());
        return chain;
    }

    /** Stops the upstream's background work (a nested server's bundle polling). */
    public void close() {
        upstream.close();
    }

    private static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Re-reads the bundle from the datastore; notifies listeners when its sequence number changed.
     */
    public void refreshBundle() {
        Bundle stored =
                dataStore
                        .fetchBundle(trustDomain.name())
                        .orElse(Bundle.newBuilder().setTrustDomain(trustDomain.name()).build());
        TrustBundle tb = BundleCodec.fromProto(stored);
        TrustBundle old = bundle;
        bundle = tb;
        if (old == null || old.sequenceNumber() != tb.sequenceNumber()) {
            if (old != null) {
                log.info(
                        "Bundle updated: trust_domain={} sequence={} x509_authorities={} jwt_authorities={}",
                        trustDomain,
                        tb.sequenceNumber(),
                        tb.x509Authorities().size(),
                        tb.jwtAuthorities().size());
            }
            for (Consumer<TrustBundle> l : bundleListeners) {
                l.accept(tb);
            }
        }
    }

    /** Called with the new bundle whenever it changes. */
    public void onBundleChange(Consumer<TrustBundle> listener) {
        bundleListeners.add(listener);
    }

    /** The current bundle of the server's trust domain. */
    public TrustBundle bundle() {
        return bundle;
    }

    /** The bundle as stored (proto), for the APIs. */
    public Bundle bundleProto() {
        return dataStore
                .fetchBundle(trustDomain.name())
                .orElse(Bundle.newBuilder().setTrustDomain(trustDomain.name()).build());
    }

    public X509Ca currentX509Ca() {
        return slots.x509Current();
    }

    public Optional<X509Ca> nextX509Ca() {
        return Optional.ofNullable(slots.x509Next());
    }

    /**
     * The CA the last activation replaced (public part only), until it expires or its key slot is
     * reused.
     */
    public Optional<X509Ca> oldX509Ca() {
        return Optional.ofNullable(slots.x509Old());
    }

    /**
     * The JWT key the last activation replaced (public part only), until it expires or its key slot
     * is reused.
     */
    public Optional<JwtSigningKey> oldJwtKey() {
        return Optional.ofNullable(slots.jwtOld());
    }

    public JwtSigningKey currentJwtKey() {
        return slots.jwtCurrent();
    }

    public Optional<JwtSigningKey> nextJwtKey() {
        return Optional.ofNullable(slots.jwtNext());
    }

    /**
     * Signs an X509-SVID with the active CA.
     *
     * @return the leaf followed by the CA's intermediates (no root)
     */
    public List<X509Certificate> signX509Svid(
            PublicKey key, SpiffeId id, List<String> dnsNames, Duration ttl) {
        X509Ca ca = slots.x509Current();
        X509Certificate leaf = minter.signX509Svid(ca.authority(), key, id, dnsNames, ttl);
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(leaf);
        chain.addAll(ca.intermediates());
        return chain;
    }

    /** A signed JWT-SVID, never outliving the signing key. */
    public SignedJwt signJwtSvid(SpiffeId subject, List<String> audience, Duration ttl) {
        JwtSigningKey k = slots.jwtCurrent();
        Instant now = clock.instant();
        Instant exp = now.plus(ttl);
        if (exp.isAfter(k.notAfter())) {
            exp = k.notAfter();
        }
        JwtSvid svid =
                JwtSvid.sign(
                        subject,
                        audience,
                        now,
                        exp,
                        jwtIssuer,
                        k.kid(),
                        k.keyPair().getPrivate(),
                        minter.crypto().provider().orElse(null));
        return new SignedJwt(svid.token(), now, svid.expiry());
    }

    // ------------------------------------------------------- operator control (SPIRE's verbs)

    /**
     * An authority as SPIRE's {@code AuthorityState}: its ID (a CA's Subject Key ID in hex, a JWT
     * key's kid), when it expires, and for a CA the Subject Key ID of the upstream certificate that
     * signed it ("" without an upstream authority).
     */
    public record AuthorityState(
            String authorityId, Instant expiresAt, String upstreamAuthorityId) {}

    /** SPIRE's authority ID of a CA: its Subject Key Identifier, lower-case hex. */
    public static String authorityId(X509Ca ca) {
        return BundleTaints.subjectKeyId(ca.certificate());
    }

    /**
     * The Subject Key ID of the upstream certificate that signed the CA ("" when the CA is its own
     * root).
     */
    public static String upstreamAuthorityId(X509Ca ca) {
        List<X509Certificate> all = new ArrayList<>(ca.chain());
        ca.roots().stream().filter(r -> !all.contains(r)).forEach(all::add);
        return all.size() > 1 ? BundleTaints.subjectKeyId(all.get(1)) : "";
    }

    public static AuthorityState state(X509Ca ca) {
        return new AuthorityState(authorityId(ca), ca.notAfter(), upstreamAuthorityId(ca));
    }

    public static AuthorityState state(JwtSigningKey k) {
        return new AuthorityState(k.kid(), k.notAfter(), "");
    }

    /** Whether an UpstreamAuthority signs the CAs (SPIRE's {@code IsUpstreamAuthority}). */
    public boolean isUpstreamAuthority() {
        return !(upstream instanceof SelfSignedUpstreamAuthority);
    }

    private Slots initialized() {
        Slots s = slots;
        if (s.x509Current() == null || s.jwtCurrent() == null) {
            throw new AuthorityException(
                    AuthorityException.Reason.UNAVAILABLE, "server is initializing");
        }
        return s;
    }

    private static void requireId(String id) {
        if (id == null || id.isEmpty()) {
            throw AuthorityException.invalid("no authority ID provided (set -authorityID)");
        }
    }

    /**
     * {@code localauthority x509 prepare}: mints a new CA into the next key slot (replacing a
     * prepared or old one there) and appends its trust anchors to the bundle.
     */
    public synchronized AuthorityState prepareX509() {
        Slots s = initialized();
        X509Ca next = mintX509(otherSlot(s.x509Current().keyId()));
        publish(next, null);
        X509Ca old = s.x509Old();
        if (old != null && old.keyId().equals(next.keyId())) {
            old = null; // its key slot now holds the prepared CA, as in SPIRE
        }
        slots = new Slots(s.x509Current(), next, old, s.jwtCurrent(), s.jwtNext(), s.jwtOld());
        saveJournal();
        log.info(
                "X509 CA prepared by the operator: authority_id={} key={} notAfter={} upstream_authority_id={}",
                authorityId(next),
                next.keyId(),
                next.notAfter(),
                upstreamAuthorityId(next));
        return state(next);
    }

    /**
     * {@code localauthority x509 activate}: the prepared CA {@code authorityId} starts signing; the
     * active one becomes old (it signs nothing more; its trust anchors stay in the bundle).
     */
    public synchronized AuthorityState activateX509(String authorityId) {
        requireId(authorityId);
        Slots s = initialized();
        X509Ca next = s.x509Next();
        if (next == null || !authorityId(next).equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unexpected authority ID "
                            + authorityId
                            + ": only the prepared X.509 authority can be activated ("
                            + (next == null
                                    ? "none is prepared; run localauthority x509 prepare first"
                                    : "prepared: " + authorityId(next))
                            + ")");
        }
        X509Ca cur = s.x509Current();
        slots = new Slots(next, null, retired(cur), s.jwtCurrent(), s.jwtNext(), s.jwtOld());
        saveJournal();
        metrics.caExpiry(next.notAfter().getEpochSecond());
        log.info(
                "X509 CA activated by the operator: authority_id={} key={} notAfter={} (previous authority_id={} kept as old)",
                authorityId(next),
                next.keyId(),
                next.notAfter(),
                authorityId(cur));
        refreshBundle();
        return state(next);
    }

    /** The old CA named {@code authorityId}, or a refusal saying what it is instead. */
    private X509Ca oldX509(Slots s, String authorityId, String verb) {
        requireId(authorityId);
        if (authorityId(s.x509Current()).equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unable to " + verb + " the active X.509 authority " + authorityId);
        }
        if (s.x509Next() != null && authorityId(s.x509Next()).equals(authorityId)) {
            throw AuthorityException.invalid(
                    "only the old X.509 authority can be "
                            + done(verb)
                            + "; "
                            + authorityId
                            + " is prepared (activate it first)");
        }
        X509Ca old = s.x509Old();
        if (old == null || !authorityId(old).equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unexpected authority ID "
                            + authorityId
                            + ": only the old X.509 authority can be "
                            + done(verb)
                            + " ("
                            + (old == null ? "there is none" : "old: " + authorityId(old))
                            + ")");
        }
        return old;
    }

    private static String done(String verb) {
        return verb.equals("revoke") ? "revoked" : verb + "ed";
    }

    private void requireNoUpstream(String verb) {
        if (isUpstreamAuthority()) {
            throw new AuthorityException(
                    AuthorityException.Reason.FAILED_PRECONDITION,
                    "local authority can't be "
                            + done(verb)
                            + " if there is an upstream authority (UpstreamAuthority \""
                            + upstream.name()
                            + "\"): the bundle holds the upstream root, not the local authority; use"
                            + " upstreamauthority "
                            + verb
                            + " -subjectKeyID <its Subject Key ID>");
        }
    }

    private void changeBundle(java.util.function.UnaryOperator<Bundle> change) {
        dataStore
                .updateBundle(trustDomain.name(), change)
                .orElseThrow(
                        () ->
                                new AuthorityException(
                                        AuthorityException.Reason.NOT_FOUND,
                                        "no bundle stored for " + trustDomain));
        refreshBundle();
    }

    /**
     * {@code localauthority x509 taint}: marks the old CA tainted in the bundle. Agents then
     * replace every SVID that chains to it (before it expires); it stays trusted until revoked.
     */
    public synchronized AuthorityState taintX509(String authorityId) {
        requireNoUpstream("taint");
        X509Ca old = oldX509(initialized(), authorityId, "taint");
        changeBundle(b -> BundleTaints.taintX509(b, authorityId));
        log.warn(
                "X509 authority tainted: authority_id={} notAfter={}", authorityId, old.notAfter());
        return state(old);
    }

    /** {@code localauthority x509 revoke}: removes the old, tainted CA from the bundle. */
    public synchronized AuthorityState revokeX509(String authorityId) {
        requireNoUpstream("revoke");
        X509Ca old = oldX509(initialized(), authorityId, "revoke");
        changeBundle(b -> BundleTaints.revokeX509(b, authorityId));
        log.warn("X509 authority revoked: authority_id={} (removed from the bundle)", authorityId);
        return state(old);
    }

    /**
     * The bundle roots the upstream authority {@code subjectKeyId} stands for: those of the old CA
     * that the active CA does not chain to. The ID may be the Subject Key ID of the certificate
     * that signed the old CA (SPIRE's) or of one of those roots.
     */
    private List<String> oldUpstreamRoots(String subjectKeyId) {
        if (!isUpstreamAuthority()) {
            throw new AuthorityException(
                    AuthorityException.Reason.FAILED_PRECONDITION,
                    "upstream authority is not configured (the server's CA is its own root; use"
                            + " localauthority x509 taint|revoke)");
        }
        if (subjectKeyId == null || subjectKeyId.isEmpty()) {
            throw AuthorityException.invalid("no subject key ID provided (set -subjectKeyID)");
        }
        Slots s = initialized();
        String skid = subjectKeyId.toLowerCase(java.util.Locale.ROOT);
        X509Ca cur = s.x509Current();
        List<String> currentIds = new ArrayList<>(List.of(upstreamAuthorityId(cur)));
        cur.roots().forEach(r -> currentIds.add(BundleTaints.subjectKeyId(r)));
        if (currentIds.contains(skid)) {
            throw AuthorityException.invalid(
                    "unable to use upstream authority "
                            + skid
                            + ": it signs the active X.509 authority");
        }
        X509Ca old = s.x509Old();
        if (old == null) {
            throw AuthorityException.invalid(
                    "upstream authority "
                            + skid
                            + " didn't sign the old local authority (there is no old X.509"
                            + " authority: prepare and activate one signed by the new upstream"
                            + " CA first)");
        }
        List<String> roots =
                old.roots().stream()
                        .filter(r -> !cur.roots().contains(r))
                        .map(BundleTaints::subjectKeyId)
                        .distinct()
                        .toList();
        if (!upstreamAuthorityId(old).equals(skid) && !roots.contains(skid)) {
            throw AuthorityException.invalid(
                    "upstream authority "
                            + skid
                            + " didn't sign the old local authority "
                            + authorityId(old)
                            + " (its upstream authority is "
                            + upstreamAuthorityId(old)
                            + ")");
        }
        if (roots.isEmpty()) {
            throw AuthorityException.invalid(
                    "the old local authority chains to the same upstream root as the active one;"
                            + " there is no upstream root to "
                            + "taint or revoke");
        }
        return roots;
    }

    /**
     * {@code upstreamauthority taint}: marks the upstream root(s) the old CA chains to (and the
     * active one does not) tainted; agents replace the SVIDs that chain to them.
     *
     * @return the Subject Key ID as given, lower-cased
     */
    public synchronized String taintUpstream(String subjectKeyId) {
        List<String> roots = oldUpstreamRoots(subjectKeyId);
        changeBundle(
                b -> {
                    Bundle out = b;
                    for (String r : roots) {
                        out = BundleTaints.taintX509(out, r);
                    }
                    return out.toBuilder().setSequenceNumber(b.getSequenceNumber() + 1).build();
                });
        log.warn(
                "X509 upstream authority tainted: subject_key_id={} roots={}", subjectKeyId, roots);
        return subjectKeyId.toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * {@code upstreamauthority revoke}: removes the tainted upstream root(s) of the old CA from the
     * bundle, with any UpstreamAuthority (SPIRE cannot prune an old {@code disk} root,
     * spiffe/spire#6198).
     */
    public synchronized String revokeUpstream(String subjectKeyId) {
        List<String> roots = oldUpstreamRoots(subjectKeyId);
        changeBundle(
                b -> {
                    Bundle out = b;
                    for (String r : roots) {
                        out = BundleTaints.revokeX509(out, r);
                    }
                    return out.toBuilder().setSequenceNumber(b.getSequenceNumber() + 1).build();
                });
        log.warn(
                "X509 upstream authority revoked: subject_key_id={} roots={} (removed from the bundle)",
                subjectKeyId,
                roots);
        return subjectKeyId.toLowerCase(java.util.Locale.ROOT);
    }

    /** {@code localauthority jwt prepare}: a new JWT key in the next slot, published at once. */
    public synchronized AuthorityState prepareJwt() {
        Slots s = initialized();
        JwtSigningKey next = mintJwt(otherJwtSlot(s.jwtCurrent().keyId()));
        publish(null, next);
        JwtSigningKey old = s.jwtOld();
        if (old != null && old.keyId().equals(next.keyId())) {
            old = null;
        }
        slots = new Slots(s.x509Current(), s.x509Next(), s.x509Old(), s.jwtCurrent(), next, old);
        saveJournal();
        log.info(
                "JWT key prepared by the operator: kid={} notAfter={}",
                next.kid(),
                next.notAfter());
        return state(next);
    }

    /** {@code localauthority jwt activate}: the prepared key signs from now on. */
    public synchronized AuthorityState activateJwt(String authorityId) {
        requireId(authorityId);
        Slots s = initialized();
        JwtSigningKey next = s.jwtNext();
        if (next == null || !next.kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unexpected authority ID "
                            + authorityId
                            + ": only the prepared JWT authority can be activated ("
                            + (next == null
                                    ? "none is prepared; run localauthority jwt prepare first"
                                    : "prepared: " + next.kid())
                            + ")");
        }
        JwtSigningKey cur = s.jwtCurrent();
        slots = new Slots(s.x509Current(), s.x509Next(), s.x509Old(), next, null, retired(cur));
        saveJournal();
        log.info(
                "JWT key activated by the operator: kid={} notAfter={} (previous kid={} kept as old)",
                next.kid(),
                next.notAfter(),
                cur.kid());
        return state(next);
    }

    /** {@code localauthority jwt taint}: marks the old JWT key tainted in the bundle. */
    public synchronized AuthorityState taintJwt(String authorityId) {
        requireId(authorityId);
        Slots s = initialized();
        if (s.jwtCurrent().kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unable to taint the active JWT authority " + authorityId);
        }
        if (s.jwtNext() != null && s.jwtNext().kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "only the old JWT authority can be tainted; "
                            + authorityId
                            + " is prepared (activate it first)");
        }
        JwtSigningKey old = s.jwtOld();
        if (old == null || !old.kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unexpected authority ID "
                            + authorityId
                            + ": only the old JWT authority can be tainted ("
                            + (old == null ? "there is none" : "old: " + old.kid())
                            + ")");
        }
        changeBundle(b -> BundleTaints.taintJwt(b, authorityId));
        log.warn("JWT authority tainted: kid={}", authorityId);
        return state(old);
    }

    /**
     * {@code localauthority jwt revoke}: removes a tainted JWT key from the bundle: the old one, or
     * (as SPIRE allows) any earlier key still in the bundle; never the active or prepared one.
     */
    public synchronized AuthorityState revokeJwt(String authorityId) {
        requireId(authorityId);
        Slots s = initialized();
        if (s.jwtNext() != null && s.jwtNext().kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unable to revoke the prepared JWT authority " + authorityId);
        }
        if (s.jwtCurrent().kid().equals(authorityId)) {
            throw AuthorityException.invalid(
                    "unable to revoke the active JWT authority " + authorityId);
        }
        Instant expires =
                bundleProto().getJwtAuthoritiesList().stream()
                        .filter(k -> k.getKeyId().equals(authorityId))
                        .map(k -> Instant.ofEpochSecond(k.getExpiresAt()))
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        AuthorityException.invalid(
                                                "no JWT authority found with authority ID "
                                                        + authorityId));
        changeBundle(b -> BundleTaints.revokeJwt(b, authorityId));
        log.warn("JWT authority revoked: kid={} (removed from the bundle)", authorityId);
        return new AuthorityState(authorityId, expires, "");
    }

    /** A JWT-SVID with its times. */
    public record SignedJwt(String token, Instant issuedAt, Instant expiresAt) {}

    public CryptoProvider crypto() {
        return minter.crypto();
    }

    public Clock clock() {
        return clock;
    }

    // ---------------------------------------------------------------- journal

    private void saveJournal() {
        Slots s = slots;
        ObjectNode root = JSON.createObjectNode();
        root.put("version", 1);
        ObjectNode x = root.putObject("x509");
        putX509(x, "current", s.x509Current());
        putX509(x, "next", s.x509Next());
        putX509(x, "old", s.x509Old());
        ObjectNode j = root.putObject("jwt");
        putJwt(j, "current", s.jwtCurrent());
        putJwt(j, "next", s.jwtNext());
        putJwt(j, "old", s.jwtOld());
        if (s.jwtOld() != null) {
            // The old key's slot may be re-generated before the journal is next written: keep its
            // public key here.
            ((ObjectNode) j.get("old"))
                    .put(
                            "public_key",
                            Base64.getEncoder()
                                    .encodeToString(s.jwtOld().keyPair().getPublic().getEncoded()));
        }
        try {
            dataStore.saveCaJournal(journalId, JSON.writeValueAsBytes(root));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putX509(ObjectNode parent, String name, X509Ca ca) {
        if (ca == null) {
            return;
        }
        ObjectNode n = parent.putObject(name);
        n.put("key_id", ca.keyId());
        ArrayNode chain = n.putArray("chain");
        ca.chain()
                .forEach(c -> chain.add(Base64.getEncoder().encodeToString(der(c).toByteArray())));
        ArrayNode roots = n.putArray("roots");
        ca.roots()
                .forEach(c -> roots.add(Base64.getEncoder().encodeToString(der(c).toByteArray())));
    }

    private static void putJwt(ObjectNode parent, String name, JwtSigningKey k) {
        if (k == null) {
            return;
        }
        parent.putObject(name)
                .put("key_id", k.keyId())
                .put("kid", k.kid())
                .put("not_before", k.notBefore().getEpochSecond())
                .put("not_after", k.notAfter().getEpochSecond());
    }

    private Slots loadJournal() {
        Optional<byte[]> data = dataStore.fetchCaJournal(journalId);
        if (data.isEmpty()) {
            return Slots.EMPTY;
        }
        JsonNode root;
        try {
            root = JSON.readTree(data.get());
        } catch (IOException e) {
            log.warn(
                    "CA journal {} in {} is unreadable ({}); minting a new CA",
                    journalId,
                    dataStore.describe(),
                    e.getMessage());
            return Slots.EMPTY;
        }
        return new Slots(
                readX509(root.path("x509").path("current")),
                readX509(root.path("x509").path("next")),
                readOldX509(root.path("x509").path("old")),
                readJwt(root.path("jwt").path("current")),
                readJwt(root.path("jwt").path("next")),
                readOldJwt(root.path("jwt").path("old")));
    }

    private X509Ca readX509(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        String keyId = n.path("key_id").asText();
        Optional<KeyPair> kp = keyManager.getKey(keyId);
        if (kp.isEmpty()) {
            log.warn(
                    "CA journal names key {} but KeyManager \"{}\" does not have it; that CA is dropped",
                    keyId,
                    keyManager.name());
            return null;
        }
        List<X509Certificate> chain = certs(n.path("chain"));
        List<X509Certificate> roots = certs(n.path("roots"));
        if (chain.isEmpty()
                || !Arrays.equals(
                        chain.get(0).getPublicKey().getEncoded(),
                        kp.get().getPublic().getEncoded())) {
            log.warn(
                    "CA journal entry for key {} does not match the key in the KeyManager; that CA is dropped",
                    keyId);
            return null;
        }
        return new X509Ca(keyId, kp.get(), chain, roots);
    }

    /** The old CA needs no private key: it is read from the journal's certificates alone. */
    private static X509Ca readOldX509(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        List<X509Certificate> chain = certs(n.path("chain"));
        if (chain.isEmpty()) {
            return null;
        }
        return new X509Ca(
                n.path("key_id").asText(),
                new KeyPair(chain.get(0).getPublicKey(), null),
                chain,
                certs(n.path("roots")));
    }

    private static JwtSigningKey readOldJwt(JsonNode n) {
        if (n.isMissingNode() || n.isNull() || !n.hasNonNull("public_key")) {
            return null;
        }
        PublicKey key;
        try {
            key = BundleCodec.publicKey(Base64.getDecoder().decode(n.path("public_key").asText()));
        } catch (RuntimeException e) {
            log.warn(
                    "CA journal: the old JWT key's public key is unreadable ({}); not shown",
                    e.getMessage());
            return null;
        }
        return new JwtSigningKey(
                n.path("key_id").asText(),
                n.path("kid").asText(),
                new KeyPair(key, null),
                Instant.ofEpochSecond(n.path("not_before").asLong()),
                Instant.ofEpochSecond(n.path("not_after").asLong()));
    }

    private JwtSigningKey readJwt(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return null;
        }
        String keyId = n.path("key_id").asText();
        Optional<KeyPair> kp = keyManager.getKey(keyId);
        if (kp.isEmpty()) {
            return null;
        }
        return new JwtSigningKey(
                keyId,
                n.path("kid").asText(),
                kp.get(),
                Instant.ofEpochSecond(n.path("not_before").asLong()),
                Instant.ofEpochSecond(n.path("not_after").asLong()));
    }

    private static List<X509Certificate> certs(JsonNode arr) {
        List<X509Certificate> out = new ArrayList<>();
        for (JsonNode c : arr) {
            out.addAll(Certificates.parseDer(Base64.getDecoder().decode(c.asText())));
        }
        return out;
    }
}
