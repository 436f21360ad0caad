package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The JWT authorities of one trust domain: public keys by key ID ({@code kid}), against which
 * JWT-SVIDs of that trust domain are validated. Immutable; an empty bundle trusts nothing.
 *
 * @param trustDomain the trust domain the keys speak for
 * @param jwtAuthorities public keys by key ID
 */
public record JwtBundle(TrustDomain trustDomain, Map<String, PublicKey> jwtAuthorities)
        implements BundleSource<JwtBundle> {

    public JwtBundle {
        Objects.requireNonNull(trustDomain, "trustDomain");
        Objects.requireNonNull(jwtAuthorities, "jwtAuthorities");
        for (var e : jwtAuthorities.entrySet()) {
            if (e.getKey() == null || e.getKey().isEmpty()) {
                throw new BundleException(
                        "JWT bundle for \""
                                + trustDomain
                                + "\": a JWT authority has an empty key ID");
            }
            Objects.requireNonNull(e.getValue(), "public key for key ID " + e.getKey());
        }
        jwtAuthorities = Collections.unmodifiableMap(new LinkedHashMap<>(jwtAuthorities));
    }

    public static JwtBundle of(TrustDomain trustDomain, Map<String, PublicKey> jwtAuthorities) {
        return new JwtBundle(trustDomain, jwtAuthorities);
    }

    /** A bundle that trusts nothing. */
    public static JwtBundle empty(TrustDomain trustDomain) {
        return new JwtBundle(trustDomain, Map.of());
    }

    /**
     * Parses a JWKS document (the SPIFFE bundle format) and keeps its {@code jwt-svid} keys.
     *
     * @throws BundleException if the document is malformed
     */
    public static JwtBundle parse(TrustDomain trustDomain, String jwks) {
        return SpiffeBundle.parse(trustDomain, jwks).jwtBundle();
    }

    public static JwtBundle parse(TrustDomain trustDomain, byte[] jwks) {
        return parse(trustDomain, new String(jwks, StandardCharsets.UTF_8));
    }

    /** The key with this key ID, if any. */
    public Optional<PublicKey> findJwtAuthority(String keyId) {
        return Optional.ofNullable(jwtAuthorities.get(keyId));
    }

    public boolean isEmpty() {
        return jwtAuthorities.isEmpty();
    }

    /** A new bundle with {@code key} under {@code keyId} (replacing any key with that ID). */
    public JwtBundle withJwtAuthority(String keyId, PublicKey key) {
        Map<String, PublicKey> keys = new LinkedHashMap<>(jwtAuthorities);
        keys.put(keyId, key);
        return new JwtBundle(trustDomain, keys);
    }

    /**
     * This bundle as a standard JWKS document of {@code jwt-svid} keys only, without {@code
     * spiffe_sequence} or {@code spiffe_refresh_hint}: the form SPIRE sends in the Workload API's
     * {@code FetchJWTBundles} and the form java-spiffe's {@code JwtBundle.parse} accepts (it
     * rejects {@code x509-svid} entries, which have no {@code kid}), on one line as SPIRE's agent
     * sends it.
     */
    public String toJwks() {
        return SpiffeBundle.of(X509Bundle.empty(trustDomain), this).toCompactJson();
    }

    @Override
    public JwtBundle bundleFor(TrustDomain td) {
        if (!trustDomain.equals(td)) {
            throw new BundleNotFoundException(td);
        }
        return this;
    }

    @Override
    public String toString() {
        return "JwtBundle[" + trustDomain + ": kids=" + jwtAuthorities.keySet() + "]";
    }
}
