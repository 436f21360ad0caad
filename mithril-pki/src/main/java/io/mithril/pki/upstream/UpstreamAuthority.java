package io.mithril.pki.upstream;

import io.mithril.spiffe.id.TrustDomain;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import javax.security.auth.x500.X500Principal;

/**
 * Where the server's signing CA comes from, as SPIRE's UpstreamAuthority plug-point: the server
 * generates a CA key and asks the upstream to certify it. Implementations: {@link
 * DiskUpstreamAuthority} ({@code UpstreamAuthority "disk"}: an operator's CA on disk signs the
 * server's key as an intermediate) and {@link SelfSignedUpstreamAuthority} (no upstream configured:
 * the server's CA is its own root); {@code UpstreamAuthority "spire"} (nested identity servers)
 * lives in mithril-server, since it speaks the server API.
 *
 * <p>Implementations are thread-safe.
 */
public interface UpstreamAuthority extends AutoCloseable {

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

    /**
     * Publishes the server's JWT signing key upstream, as SPIRE's {@code PublishJWTKey}: an
     * upstream that supports it (the {@code spire} plugin) adds the key to the upstream trust
     * domain's bundle and answers with every JWT key of that bundle, which the server then adds to
     * its own bundle (so JWT-SVIDs verify under the whole upstream topology).
     *
     * @return the upstream's JWT keys, or empty when this upstream does not publish JWT keys (the
     *     server then publishes the key in its own bundle only, as SPIRE does on {@code
     *     Unimplemented})
     * @throws UpstreamAuthorityException when the upstream supports it and the call failed
     */
    default Optional<List<JwtKey>> publishJwtKey(JwtKey key) throws UpstreamAuthorityException {
        return Optional.empty();
    }

    /**
     * Asks to be told of the upstream trust domain's bundle whenever it changes (new upstream
     * roots, JWT keys published by other downstream servers), as SPIRE's {@code
     * SubscribeToLocalBundle}. Upstreams without a bundle of their own to follow (disk,
     * self-signed) never call it.
     */
    default void onUpstreamBundle(Consumer<UpstreamBundle> listener) {}

    /** Stops any background work (bundle polling) and releases connections. */
    @Override
    default void close() {}

    /**
     * A JWT signing key as the bundle carries it.
     *
     * @param keyId the {@code kid}
     * @param publicKey PKIX (SubjectPublicKeyInfo) DER
     * @param expiresAt unix seconds
     */
    record JwtKey(String keyId, byte[] publicKey, long expiresAt) {
        public JwtKey {
            Objects.requireNonNull(keyId, "keyId");
            publicKey = Objects.requireNonNull(publicKey, "publicKey").clone();
            if (keyId.isEmpty()) {
                throw new IllegalArgumentException("JWT key has an empty key ID");
            }
        }

        @Override
        public byte[] publicKey() {
            return publicKey.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof JwtKey k
                    && keyId.equals(k.keyId)
                    && expiresAt == k.expiresAt
                    && java.util.Arrays.equals(publicKey, k.publicKey);
        }

        @Override
        public int hashCode() {
            return keyId.hashCode() * 31 + java.util.Arrays.hashCode(publicKey);
        }

        @Override
        public String toString() {
            return "JwtKey[kid=" + keyId + ", expiresAt=" + expiresAt + "]";
        }
    }

    /**
     * The upstream trust domain's bundle as last seen.
     *
     * @param x509Roots the upstream's X.509 authorities
     * @param jwtKeys the upstream's JWT keys (its own and every downstream's)
     */
    record UpstreamBundle(List<X509Certificate> x509Roots, List<JwtKey> jwtKeys) {
        public UpstreamBundle {
            x509Roots = List.copyOf(x509Roots);
            jwtKeys = List.copyOf(jwtKeys);
        }
    }
}
