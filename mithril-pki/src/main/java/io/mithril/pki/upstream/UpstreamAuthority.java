package io.mithril.pki.upstream;

import io.mithril.spiffe.id.TrustDomain;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import javax.security.auth.x500.X500Principal;

/**
 * Where the server's signing CA comes from, as SPIRE's UpstreamAuthority plug-point: the server
 * generates a CA key and asks the upstream to certify it. Implementations: {@link
 * DiskUpstreamAuthority} ({@code UpstreamAuthority "disk"}: an operator's CA on disk signs the
 * server's key as an intermediate) and {@link SelfSignedUpstreamAuthority} (no upstream configured:
 * the server's CA is its own root).
 *
 * <p>Implementations are thread-safe.
 */
public interface UpstreamAuthority {

    /** The plug-in name as configured, e.g. {@code disk}. */
    String name();

    /**
     * Certifies the server's CA key.
     *
     * @param serverCaKey the server's CA key pair; the certificate is for its public key
     * @param trustDomain the trust domain; its ID becomes the CA's URI SAN
     * @param ttl the wanted lifetime; the certificate never outlives its upstream signer
     * @param subject the CA's subject name, or null for {@code C=US, O=SPIFFE}
     * @return the new CA certificate with its chain and the trust anchors to publish
     * @throws UpstreamAuthorityException naming the source and the problem
     */
    MintedX509Ca mintX509Ca(
            KeyPair serverCaKey, TrustDomain trustDomain, Duration ttl, X500Principal subject)
            throws UpstreamAuthorityException;

    /**
     * A freshly minted server CA.
     *
     * @param chain the new CA certificate first, then the upstream intermediates; no roots (for a
     *     self-signed CA, just the CA itself)
     * @param upstreamRoots the trust anchors to publish in the trust domain's bundle
     */
    record MintedX509Ca(List<X509Certificate> chain, List<X509Certificate> upstreamRoots) {
        public MintedX509Ca {
            chain = List.copyOf(Objects.requireNonNull(chain, "chain"));
            upstreamRoots = List.copyOf(Objects.requireNonNull(upstreamRoots, "upstreamRoots"));
            if (chain.isEmpty()) {
                throw new IllegalArgumentException("minted CA chain is empty");
            }
            if (upstreamRoots.isEmpty()) {
                throw new IllegalArgumentException("minted CA has no upstream roots");
            }
        }

        /** The new CA certificate (the first of {@link #chain()}). */
        public X509Certificate certificate() {
            return chain.get(0);
        }
    }
}
