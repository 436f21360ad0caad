package io.mithril.spiffe.svid;

import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.x509.CertificatePolicy;
import io.mithril.spiffe.x509.WeakCertificateException;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXCertPathValidatorResult;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Validates a peer's X509-SVID chain the way the X509-SVID specification (section 5) says: RFC 5280
 * path validation (JDK PKIX, revocation checking off) against the X.509 bundle of the trust domain
 * named by the leaf's SPIFFE ID, then the leaf rules: exactly one URI SAN, a SPIFFE ID with a
 * non-root path, CA=false, keyUsage digitalSignature without keyCertSign or cRLSign. Intermediates
 * must be CAs with keyCertSign, and a SPIFFE ID they carry must have no path. Unlike plain PKIX, an
 * authority that is outside its validity period is not trusted (as in Go, OpenSSL and BoringSSL,
 * which the other peers of a mesh use). Weak cryptography is refused as {@link CertificatePolicy}
 * says: SHA-1 or MD5 signatures on the leaf or an intermediate, RSA keys under 2048 bits and EC
 * keys off P-256/P-384/P-521 anywhere in the path, trust anchor included.
 */
public final class X509SvidValidator {
    private X509SvidValidator() {}

    /**
     * The SPIFFE ID of an X509-SVID leaf: its one URI SAN, with a non-root path.
     *
     * @throws X509SvidException if the leaf does not carry exactly one such SPIFFE ID
     */
    public static SpiffeId leafId(X509Certificate leaf) {
        return X509SvidRules.leafSpiffeId(leaf);
    }

    /**
     * Verifies {@code chain} (leaf first, as a TLS peer sends it) now.
     *
     * @return the leaf's SPIFFE ID
     * @throws X509SvidException if the chain does not validate or breaks an X509-SVID rule
     * @throws BundleNotFoundException if {@code bundles} has no bundle for the leaf's trust domain
     */
    public static SpiffeId verify(List<X509Certificate> chain, BundleSource<X509Bundle> bundles) {
        return verify(chain, bundles, Clock.systemUTC());
    }

    /**
     * Verifies {@code chain} at the instant {@code clock} gives.
     *
     * @see #verify(List, BundleSource)
     */
    public static SpiffeId verify(
            List<X509Certificate> chain, BundleSource<X509Bundle> bundles, Clock clock) {
        if (chain == null || chain.isEmpty()) {
            throw new X509SvidException("certificate chain is empty; the peer sent no certificate");
        }
        X509Certificate leaf = chain.get(0);
        SpiffeId id = X509SvidRules.leafSpiffeId(leaf);
        X509Bundle bundle = bundles.bundleFor(id.trustDomain());
        if (bundle == null || !bundle.trustDomain().equals(id.trustDomain())) {
            throw new BundleNotFoundException(id.trustDomain());
        }
        if (bundle.isEmpty()) {
            throw new X509SvidException(
                    "the bundle of trust domain \""
                            + id.trustDomain()
                            + "\" has no X.509 authorities; it trusts nothing (validating "
                            + id
                            + ")");
        }
        Set<TrustAnchor> anchors = new HashSet<>();
        for (X509Certificate authority : bundle.x509Authorities()) {
            anchors.add(new TrustAnchor(authority, null));
        }
        // The path ends just before the first certificate that is itself a trust anchor, in case
        // the peer also sent its root.
        int end = chain.size();
        for (int i = 1; i < chain.size(); i++) {
            if (bundle.hasX509Authority(chain.get(i))) {
                end = i;
                break;
            }
        }
        List<X509Certificate> path = chain.subList(0, end);
        // Weak cryptography is refused before PKIX looks at the chain (the JDK's own limits
        // depend on its configuration and accept SHA-1 under a private root).
        for (int i = 0; i < path.size(); i++) {
            try {
                CertificatePolicy.checkCertificate(path.get(i), i);
            } catch (WeakCertificateException e) {
                throw weak(id, e);
            }
        }
        try {
            CertPath certPath = CertificateFactory.getInstance("X.509").generateCertPath(path);
            PKIXParameters params = new PKIXParameters(anchors);
            params.setRevocationEnabled(false);
            params.setDate(Date.from(clock.instant()));
            PKIXCertPathValidatorResult result =
                    (PKIXCertPathValidatorResult)
                            CertPathValidator.getInstance("PKIX").validate(certPath, params);
            // PKIX does not look at the anchor's own validity; Go, OpenSSL and BoringSSL peers do,
            // so an expired root must not be trusted here either.
            X509Certificate anchor = result.getTrustAnchor().getTrustedCert();
            try {
                CertificatePolicy.checkTrustAnchor(anchor);
            } catch (WeakCertificateException e) {
                throw weak(id, e);
            }
            try {
                anchor.checkValidity(Date.from(clock.instant()));
            } catch (CertificateExpiredException | CertificateNotYetValidException e) {
                throw new X509SvidException(
                        "certificate chain of \""
                                + id
                                + "\" ends at the authority \""
                                + anchor.getSubjectX500Principal().getName()
                                + "\" of trust domain \""
                                + id.trustDomain()
                                + "\", which is not valid at "
                                + clock.instant()
                                + " (valid "
                                + anchor.getNotBefore().toInstant()
                                + " to "
                                + anchor.getNotAfter().toInstant()
                                + ")",
                        e);
            }
        } catch (CertPathValidatorException e) {
            String where =
                    e.getIndex() >= 0 && e.getIndex() < path.size()
                            ? " at " + X509SvidRules.describe(path.get(e.getIndex()), e.getIndex())
                            : "";
            throw new X509SvidException(
                    "certificate chain of \""
                            + id
                            + "\" does not verify against the bundle of trust domain \""
                            + id.trustDomain()
                            + "\""
                            + where
                            + ": "
                            + e.getMessage(),
                    e);
        } catch (InvalidAlgorithmParameterException e) {
            throw new X509SvidException(
                    "bundle of trust domain \""
                            + id.trustDomain()
                            + "\" cannot be used: "
                            + e.getMessage(),
                    e);
        } catch (GeneralSecurityException e) {
            throw new X509SvidException(
                    "certificate chain of \"" + id + "\" cannot be validated: " + e.getMessage(),
                    e);
        }
        X509SvidRules.checkLeafConstraints(leaf);
        // The signing rules apply to the certificates the peer vouches with; a root it also sent
        // is trusted because it is in the bundle, whatever its extensions say.
        for (int i = 1; i < path.size(); i++) {
            X509SvidRules.checkSigningCertificate(path.get(i), i);
        }
        return id;
    }

    private static X509SvidException weak(SpiffeId id, WeakCertificateException e) {
        return new X509SvidException(
                "certificate chain of \"" + id + "\" is refused: " + e.getMessage(), e);
    }
}
