package io.mithril.proxy.tls;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies a peer's X509-SVID as SPIFFE says: the leaf has exactly one URI SAN, a SPIFFE ID;
 * the chain validates (RFC 5280, including validity dates) against the bundle of THAT ID's
 * trust domain (never another's); the leaf is not a CA; and when {@code allowed} is not empty,
 * the ID is one of them (Istio's {@code subjectAltNames}, or a destination's expected identity).
 * Failures throw {@link CertificateException} with the reason, which ends the handshake.
 */
public final class SpiffeTrustManager extends X509ExtendedTrustManager {

    private static final int CACHE_LIMIT = 4096;

    private final Supplier<Map<TrustDomain, List<X509Certificate>>> bundles;
    private final Set<String> allowed;
    /**
     * Chains that passed path validation, with the time their first certificate expires: a client
     * that reconnects with the same SVID skips PKIX (the costly part of a handshake here). A new
     * bundle means a new trust manager, hence an empty cache.
     */
    private final Map<List<X509Certificate>, Long> validated = new ConcurrentHashMap<>();

    /**
     * @param bundles the current bundles by trust domain (read at each handshake)
     * @param allowed SPIFFE IDs (as strings) accepted; empty = any ID the bundles vouch for
     */
    public SpiffeTrustManager(Supplier<Map<TrustDomain, List<X509Certificate>>> bundles, Collection<String> allowed) {
        this.bundles = bundles;
        this.allowed = Set.copyOf(allowed);
    }

    /** Verifies a chain and returns the peer's SPIFFE ID. */
    public SpiffeId verify(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("peer sent no certificate");
        }
        X509Certificate leaf = chain[0];
        SpiffeId id = spiffeIdOf(leaf);
        if (leaf.getBasicConstraints() >= 0) {
            throw new CertificateException("peer certificate " + id + " is a CA certificate, not an X509-SVID");
        }
        List<X509Certificate> roots = bundles.get().get(id.trustDomain());
        if (roots == null || roots.isEmpty()) {
            throw new CertificateException("no bundle for trust domain " + id.trustDomain() + " of peer " + id);
        }
        List<X509Certificate> key = List.of(chain);
        Long until = validated.get(key);
        if (until == null || System.currentTimeMillis() >= until) {
            validate(id, chain, roots);
            long expiry = Long.MAX_VALUE;
            for (X509Certificate c : chain) {
                expiry = Math.min(expiry, c.getNotAfter().getTime());
            }
            if (validated.size() >= CACHE_LIMIT) {
                validated.clear();
            }
            validated.put(key, expiry);
        }
        if (!allowed.isEmpty() && !allowed.contains(id.toString())) {
            throw new CertificateException("peer SPIFFE ID " + id + " is not one of the expected " + allowed);
        }
        return id;
    }

    private static void validate(SpiffeId id, X509Certificate[] chain, List<X509Certificate> roots) throws CertificateException {
        try {
            Set<TrustAnchor> anchors = new HashSet<>();
            for (X509Certificate r : roots) {
                anchors.add(new TrustAnchor(r, null));
            }
            List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
            // A chain that carries the root itself: PKIX wants the path without the anchor.
            while (path.size() > 1 && roots.contains(path.get(path.size() - 1))) {
                path.remove(path.size() - 1);
            }
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("peer " + id + ": certificate chain does not validate against the bundle of "
                    + id.trustDomain() + ": " + e.getMessage(), e);
        }
    }

    /** The SPIFFE ID of an X509-SVID: its one and only URI SAN. */
    public static SpiffeId spiffeIdOf(X509Certificate leaf) throws CertificateException {
        List<String> uris = new ArrayList<>();
        try {
            Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
            if (sans != null) {
                for (List<?> san : sans) {
                    if (Integer.valueOf(6).equals(san.get(0))) {
                        uris.add(String.valueOf(san.get(1)));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new CertificateException("peer certificate has unreadable subjectAltNames: " + e.getMessage(), e);
        }
        if (uris.size() != 1) {
            throw new CertificateException("peer certificate has " + uris.size() + " URI SANs " + uris
                    + "; an X509-SVID has exactly one (its SPIFFE ID)");
        }
        try {
            return SpiffeId.parse(uris.get(0));
        } catch (RuntimeException e) {
            throw new CertificateException("peer certificate URI SAN is not a SPIFFE ID: " + e.getMessage(), e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        verify(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        verify(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        // No CA names in the CertificateRequest: clients (curl) then send their SVID whatever its issuer.
        return new X509Certificate[0];
    }
}
