package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.internal.Der;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The X.509 authorities (CA certificates) of one trust domain: the trust anchors against which
 * X509-SVIDs of that trust domain are validated. Immutable; the authorities keep the order in which
 * they were given. An empty bundle trusts nothing.
 *
 * @param trustDomain the trust domain the authorities speak for
 * @param x509Authorities the CA certificates
 */
public record X509Bundle(TrustDomain trustDomain, Set<X509Certificate> x509Authorities)
        implements BundleSource<X509Bundle> {

    public X509Bundle {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(x509Authorities, "x509Authorities");
        x509Authorities = Collections.unmodifiableSet(new LinkedHashSet<>(x509Authorities));
    }

    /** A bundle of the given authorities (duplicates collapse). */
    public static X509Bundle of(TrustDomain trustDomain, Collection<X509Certificate> authorities) {
        return new X509Bundle(trustDomain, new LinkedHashSet<>(authorities));
    }

    /** A bundle that trusts nothing. */
    public static X509Bundle empty(TrustDomain trustDomain) {
        return new X509Bundle(trustDomain, Set.of());
    }

    /**
     * Parses PEM {@code CERTIFICATE} blocks.
     *
     * @throws BundleException if a block is malformed, is not a certificate, or there is none
     */
    public static X509Bundle parsePem(TrustDomain trustDomain, String pem) {
        try {
            var certs = Der.certificatesFromPem(pem);
            if (certs.isEmpty()) {
                throw new BundleException(
                        "X.509 bundle for \""
                                + trustDomain
                                + "\": no CERTIFICATE block found in PEM");
            }
            return of(trustDomain, certs);
        } catch (Der.MalformedException e) {
            throw new BundleException(
                    "X.509 bundle for \"" + trustDomain + "\": " + e.getMessage(), e);
        }
    }

    /** Parses PEM given as (UTF-8/ASCII) bytes. @see #parsePem(TrustDomain, String) */
    public static X509Bundle parsePem(TrustDomain trustDomain, byte[] pem) {
        return parsePem(trustDomain, new String(pem, StandardCharsets.UTF_8));
    }

    /**
     * Parses concatenated DER certificates, the encoding of the Workload API's {@code bundle} and
     * {@code federated_bundles} fields.
     *
     * @throws BundleException if the bytes are not a sequence of complete certificates, or empty
     */
    public static X509Bundle parseDer(TrustDomain trustDomain, byte[] der) {
        try {
            var certs = Der.certificatesFromDer(der);
            if (certs.isEmpty()) {
                throw new BundleException(
                        "X.509 bundle for \""
                                + trustDomain
                                + "\": no DER certificate found (empty input)");
            }
            return of(trustDomain, certs);
        } catch (Der.MalformedException e) {
            throw new BundleException(
                    "X.509 bundle for \"" + trustDomain + "\": " + e.getMessage(), e);
        }
    }

    /**
     * Parses either encoding: PEM if the first non-blank byte is {@code -} (the start of {@code
     * -----BEGIN}), concatenated DER otherwise. For files an operator may have written either way
     * ({@code trust_bundle_path}, {@code bundle_file_path}).
     *
     * @throws BundleException if the bytes are malformed in the encoding they appear to use
     */
    public static X509Bundle parse(TrustDomain trustDomain, byte[] pemOrDer) {
        for (byte b : pemOrDer) {
            if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                continue;
            }
            return b == '-' ? parsePem(trustDomain, pemOrDer) : parseDer(trustDomain, pemOrDer);
        }
        throw new BundleException("X.509 bundle for \"" + trustDomain + "\": input is empty");
    }

    /** The authorities as PEM {@code CERTIFICATE} blocks. */
    public String toPem() {
        return Der.toPem(new ArrayList<>(x509Authorities));
    }

    /** The authorities as concatenated DER (Workload API encoding). */
    public byte[] toDer() {
        return Der.concat(new ArrayList<>(x509Authorities));
    }

    public boolean isEmpty() {
        return x509Authorities.isEmpty();
    }

    public boolean hasX509Authority(X509Certificate cert) {
        return x509Authorities.contains(cert);
    }

    /** A new bundle with {@code cert} added. */
    public X509Bundle withX509Authority(X509Certificate cert) {
        Set<X509Certificate> certs = new LinkedHashSet<>(x509Authorities);
        certs.add(cert);
        return new X509Bundle(trustDomain, certs);
    }

    /** This bundle, if asked for its own trust domain. */
    @Override
    public X509Bundle bundleFor(TrustDomain td) {
        if (!trustDomain.equals(td)) {
            throw new BundleNotFoundException(td);
        }
        return this;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("X509Bundle[").append(trustDomain).append(": ");
        boolean first = true;
        for (X509Certificate c : x509Authorities) {
            sb.append(first ? "" : ", ").append(c.getSubjectX500Principal().getName());
            first = false;
        }
        return sb.append(']').toString();
    }
}
