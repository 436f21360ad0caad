package io.mithril.spiffe.tls;

import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509SvidValidator;
import java.net.Socket;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXReason;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A TLS trust manager that accepts a peer only if its certificate chain is a valid X509-SVID for
 * the bundle of the peer's own trust domain (looked up at each handshake, so bundle updates apply
 * to the next handshake) and the {@link SpiffeIdAuthorizer} accepts its SPIFFE ID. Used on both
 * sides: a server requiring client SVIDs, a client checking the server's SPIFFE ID.
 *
 * <p>No host name check is made: SVIDs identify workloads by SPIFFE ID, not by DNS name (and an
 * {@link X509ExtendedTrustManager} is responsible for endpoint identification, so the JDK adds
 * none). Failures throw {@link SvidRejectedException} whose message names the peer's SPIFFE ID and
 * the reason, and whose {@link SvidRejectedException#reason()} says which TLS alert fits; the TLS
 * engine turns it into a handshake failure.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {

    private static final int CACHE_LIMIT = 4096;

    private final BundleSource<X509Bundle> bundles;
    private final SpiffeIdAuthorizer authorizer;
    private final Clock clock;
    private final RefusalListener onRefusal;

    /**
     * Chains that passed validation, with the bundle they passed against and the first instant a
     * certificate involved expires: a peer that reconnects with the same SVID skips PKIX (the
     * costly part of a handshake) while its bundle is unchanged.
     */
    private final Map<List<X509Certificate>, Validated> validated = new ConcurrentHashMap<>();

    private record Validated(X509Bundle bundle, Instant until) {}

    /** Validates at the system clock's time. */
    public SpiffeTrustManager(BundleSource<X509Bundle> bundles, SpiffeIdAuthorizer authorizer) {
        this(bundles, authorizer, Clock.systemUTC());
    }

    /**
     * @param bundles looked up at each handshake, so it may change (rotation, federation)
     * @param authorizer which SPIFFE IDs are accepted once the SVID validated
     * @param clock the time certificates must be valid at
     */
    public SpiffeTrustManager(
            BundleSource<X509Bundle> bundles, SpiffeIdAuthorizer authorizer, Clock clock) {
        this(bundles, authorizer, clock, (peer, reason) -> {});
    }

    private SpiffeTrustManager(
            BundleSource<X509Bundle> bundles,
            SpiffeIdAuthorizer authorizer,
            Clock clock,
            RefusalListener onRefusal) {
        this.bundles = Objects.requireNonNull(bundles, "bundles");
        this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.onRefusal = Objects.requireNonNull(onRefusal, "onRefusal");
    }

    /**
     * Told of every peer this trust manager refuses during a handshake, e.g. to log it or show it
     * to the operator.
     */
    @FunctionalInterface
    public interface RefusalListener {
        /**
         * @param peer the peer's address as {@code host:port} when the TLS engine or socket knows
         *     it, else ""
         * @param reason the exception the handshake fails with
         */
        void refused(String peer, CertificateException reason);
    }

    /** The same checks, and {@code listener} is told of each refusal. */
    public SpiffeTrustManager withRefusalListener(RefusalListener listener) {
        return new SpiffeTrustManager(bundles, authorizer, clock, listener);
    }

    /**
     * Validates {@code chain} (leaf first) and authorizes its SPIFFE ID.
     *
     * @return the peer's SPIFFE ID
     * @throws CertificateException if the chain is not a valid SVID or its ID is not authorized
     */
    public SpiffeId verify(X509Certificate[] chain, String who) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new SvidRejectedException(
                    SvidRejectedException.Reason.NO_CERTIFICATE,
                    who + " presented no certificate; an X509-SVID is required",
                    null);
        }
        SpiffeId id;
        try {
            id = validate(List.of(chain));
        } catch (RuntimeException e) {
            throw new SvidRejectedException(
                    reasonOf(e),
                    who + " certificate is not a valid X509-SVID: " + e.getMessage(),
                    e);
        }
        if (!authorizer.authorize(id)) {
            throw new SvidRejectedException(
                    SvidRejectedException.Reason.NOT_AUTHORIZED,
                    who
                            + " SPIFFE ID "
                            + id
                            + " is not authorized: expected "
                            + authorizer.describe(),
                    null);
        }
        return id;
    }

    /** Classifies a validation failure by the TLS alert that fits it. */
    static SvidRejectedException.Reason reasonOf(RuntimeException e) {
        if (e instanceof BundleNotFoundException) {
            return SvidRejectedException.Reason.UNKNOWN_AUTHORITY;
        }
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof CertificateExpiredException) {
                return SvidRejectedException.Reason.EXPIRED;
            }
            if (t instanceof CertificateNotYetValidException) {
                return SvidRejectedException.Reason.NOT_YET_VALID;
            }
            if (t instanceof CertPathValidatorException cpve) {
                CertPathValidatorException.Reason r = cpve.getReason();
                if (r == CertPathValidatorException.BasicReason.EXPIRED) {
                    return SvidRejectedException.Reason.EXPIRED;
                }
                if (r == CertPathValidatorException.BasicReason.NOT_YET_VALID) {
                    return SvidRejectedException.Reason.NOT_YET_VALID;
                }
                if (r == PKIXReason.NO_TRUST_ANCHOR
                        || r == CertPathValidatorException.BasicReason.INVALID_SIGNATURE) {
                    return SvidRejectedException.Reason.UNKNOWN_AUTHORITY;
                }
                return SvidRejectedException.Reason.BAD_CERTIFICATE;
            }
        }
        return SvidRejectedException.Reason.BAD_CERTIFICATE;
    }

    private SpiffeId validate(List<X509Certificate> chain) {
        Validated hit = validated.get(chain);
        if (hit != null && clock.instant().isBefore(hit.until())) {
            SpiffeId id = X509SvidValidator.leafId(chain.get(0));
            X509Bundle bundle = bundles.bundleFor(id.trustDomain());
            if (hit.bundle().equals(bundle)) {
                return id;
            }
        }
        SpiffeId id = X509SvidValidator.verify(chain, bundles, clock);
        X509Bundle bundle = bundles.bundleFor(id.trustDomain());
        Instant until = Instant.MAX;
        for (X509Certificate c : chain) {
            until = min(until, c.getNotAfter().toInstant());
        }
        for (X509Certificate c : bundle.x509Authorities()) {
            until = min(until, c.getNotAfter().toInstant());
        }
        if (validated.size() >= CACHE_LIMIT) {
            validated.clear();
        }
        validated.put(chain, new Validated(bundle, until));
        return id;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private void check(X509Certificate[] chain, String who, String peer)
            throws CertificateException {
        try {
            verify(chain, who);
        } catch (CertificateException e) {
            onRefusal.refused(peer, e);
            throw e;
        }
    }

    private static String peer(SSLEngine engine) {
        return engine == null || engine.getPeerHost() == null
                ? ""
                : engine.getPeerHost() + ":" + engine.getPeerPort();
    }

    private static String peer(Socket socket) {
        return socket == null || socket.getInetAddress() == null
                ? ""
                : socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        check(chain, "client", "");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        check(chain, "server", "");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, "client", peer(socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, "server", peer(socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, "client", peer(engine));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, "server", peer(engine));
    }

    /**
     * No CA names are sent in the CertificateRequest: SVIDs of several trust domains may be
     * acceptable, and the key manager on the other side presents its one SVID anyway.
     */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
