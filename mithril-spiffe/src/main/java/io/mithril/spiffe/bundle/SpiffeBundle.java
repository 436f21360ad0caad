package io.mithril.spiffe.bundle;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.internal.Der;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A trust domain's bundle in the SPIFFE bundle format: a JWK Set whose {@code keys} carry the X.509
 * authorities ({@code "use": "x509-svid"}, one CA certificate in {@code x5c}, no {@code kid}) and
 * the JWT authorities ({@code "use": "jwt-svid"}, with a {@code kid}), plus the optional {@code
 * spiffe_sequence} (a monotonic number) and {@code spiffe_refresh_hint} (seconds).
 *
 * <p>Parsing follows the consumer rules of the X509-SVID and JWT-SVID specifications: keys of
 * unknown or absent {@code use} are ignored; an {@code x509-svid} key whose {@code x5c} is absent
 * or empty is ignored, and only the first certificate of {@code x5c} is used; a {@code jwt-svid}
 * key without {@code kid}, or a second key with the same {@code kid}, makes the document invalid.
 * An empty {@code keys} array is valid and trusts nothing; a document without {@code keys} is
 * invalid. Serialising writes each authority with its public key parameters ({@code kty}, {@code
 * crv}/{@code x}/{@code y} or {@code n}/{@code e}) so that ordinary JWKS libraries can read it.
 *
 * @param trustDomain the trust domain
 * @param x509Authorities CA certificates for X509-SVIDs
 * @param jwtAuthorities public keys for JWT-SVIDs, by key ID
 * @param sequenceNumber {@code spiffe_sequence}, if present
 * @param refreshHint {@code spiffe_refresh_hint}, if present
 */
public record SpiffeBundle(
        TrustDomain trustDomain,
        Set<X509Certificate> x509Authorities,
        Map<String, PublicKey> jwtAuthorities,
        OptionalLong sequenceNumber,
        Optional<Duration> refreshHint) {

    static final ObjectMapper JSON =
            new ObjectMapper()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .enable(SerializationFeature.INDENT_OUTPUT);

    public static final String USE_X509_SVID = "x509-svid";
    public static final String USE_JWT_SVID = "jwt-svid";

    public SpiffeBundle {
        Objects.requireNonNull(trustDomain, "trustDomain");
        x509Authorities = X509Bundle.of(trustDomain, x509Authorities).x509Authorities();
        jwtAuthorities = JwtBundle.of(trustDomain, jwtAuthorities).jwtAuthorities();
        Objects.requireNonNull(sequenceNumber, "sequenceNumber");
        Objects.requireNonNull(refreshHint, "refreshHint");
        if (sequenceNumber.isPresent() && sequenceNumber.getAsLong() < 0) {
            throw new BundleException(
                    "spiffe_sequence must not be negative, found " + sequenceNumber.getAsLong());
        }
        if (refreshHint.isPresent()
                && (refreshHint.get().isNegative() || refreshHint.get().getNano() != 0)) {
            throw new BundleException(
                    "spiffe_refresh_hint must be a whole, non-negative number of seconds, found "
                            + refreshHint.get());
        }
    }

    /** A bundle of these authorities, without sequence number or refresh hint. */
    public static SpiffeBundle of(X509Bundle x509, JwtBundle jwt) {
        if (!x509.trustDomain().equals(jwt.trustDomain())) {
            throw new IllegalArgumentException(
                    "X.509 bundle is for \""
                            + x509.trustDomain()
                            + "\" but JWT bundle is for \""
                            + jwt.trustDomain()
                            + "\"");
        }
        return new SpiffeBundle(
                x509.trustDomain(),
                x509.x509Authorities(),
                jwt.jwtAuthorities(),
                OptionalLong.empty(),
                Optional.empty());
    }

    /** A bundle that trusts nothing. */
    public static SpiffeBundle empty(TrustDomain trustDomain) {
        return new SpiffeBundle(
                trustDomain, Set.of(), Map.of(), OptionalLong.empty(), Optional.empty());
    }

    public SpiffeBundle withSequenceNumber(long sequence) {
        return new SpiffeBundle(
                trustDomain,
                x509Authorities,
                jwtAuthorities,
                OptionalLong.of(sequence),
                refreshHint);
    }

    public SpiffeBundle withRefreshHint(Duration hint) {
        return new SpiffeBundle(
                trustDomain, x509Authorities, jwtAuthorities, sequenceNumber, Optional.of(hint));
    }

    public X509Bundle x509Bundle() {
        return new X509Bundle(trustDomain, x509Authorities);
    }

    public JwtBundle jwtBundle() {
        return new JwtBundle(trustDomain, jwtAuthorities);
    }

    /**
     * Parses a SPIFFE bundle (JWKS document).
     *
     * @throws BundleException naming the entry and member that is malformed
     */
    public static SpiffeBundle parse(TrustDomain trustDomain, String json) {
        Objects.requireNonNull(trustDomain, "trustDomain");
        String doc = "SPIFFE bundle for \"" + trustDomain + "\"";
        if (json == null || json.isBlank()) {
            throw new BundleException(doc + ": document is empty");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new BundleException(doc + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new BundleException(
                    doc
                            + ": expected a JSON object, found "
                            + (root == null ? "nothing" : root.getNodeType()));
        }
        JsonNode keys = root.get("keys");
        if (keys == null || keys.isNull()) {
            throw new BundleException(
                    doc
                            + ": member \"keys\" is missing (a JWK Set must have one; use [] to trust nothing)");
        }
        if (!keys.isArray()) {
            throw new BundleException(
                    doc + ": member \"keys\" must be an array, found " + keys.getNodeType());
        }
        Set<X509Certificate> x509 = new LinkedHashSet<>();
        Map<String, PublicKey> jwt = new LinkedHashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            JsonNode key = keys.get(i);
            String where = doc + ", keys[" + i + "]";
            if (!key.isObject()) {
                throw new BundleException(
                        where + ": expected a JSON object, found " + key.getNodeType());
            }
            JsonNode use = key.get("use");
            if (use == null || !use.isTextual()) {
                continue; // not an SVID authority: ignored, as the specifications require
            }
            switch (use.textValue()) {
                case USE_X509_SVID -> {
                    X509Certificate cert = x509Authority(key, where);
                    if (cert != null) {
                        x509.add(cert);
                    }
                }
                case USE_JWT_SVID -> {
                    JsonNode kid = key.get("kid");
                    if (kid == null || !kid.isTextual() || kid.textValue().isEmpty()) {
                        throw new BundleException(
                                where
                                        + ": a \"jwt-svid\" key must have a non-empty string \"kid\"");
                    }
                    if (jwt.containsKey(kid.textValue())) {
                        throw new BundleException(
                                where + ": duplicate \"kid\": \"" + kid.textValue() + "\"");
                    }
                    jwt.put(
                            kid.textValue(),
                            Jwk.fromJwk(key, where + " (kid \"" + kid.textValue() + "\")"));
                }
                default -> {
                    // unknown use: ignored
                }
            }
        }
        OptionalLong sequence = OptionalLong.empty();
        JsonNode seq = root.get("spiffe_sequence");
        if (seq != null && !seq.isNull()) {
            if (!seq.isIntegralNumber() || !seq.canConvertToLong() || seq.longValue() < 0) {
                throw new BundleException(
                        doc + ": \"spiffe_sequence\" must be a non-negative integer, found " + seq);
            }
            sequence = OptionalLong.of(seq.longValue());
        }
        Optional<Duration> hint = Optional.empty();
        JsonNode refresh = root.get("spiffe_refresh_hint");
        if (refresh != null && !refresh.isNull()) {
            if (!refresh.isIntegralNumber()
                    || !refresh.canConvertToLong()
                    || refresh.longValue() < 0) {
                throw new BundleException(
                        doc
                                + ": \"spiffe_refresh_hint\" must be a non-negative integer (seconds), found "
                                + refresh);
            }
            hint = Optional.of(Duration.ofSeconds(refresh.longValue()));
        }
        return new SpiffeBundle(trustDomain, x509, jwt, sequence, hint);
    }

    public static SpiffeBundle parse(TrustDomain trustDomain, byte[] json) {
        return parse(trustDomain, new String(json, StandardCharsets.UTF_8));
    }

    private static X509Certificate x509Authority(JsonNode key, String where) {
        JsonNode x5c = key.get("x5c");
        if (x5c == null || x5c.isNull() || (x5c.isArray() && x5c.isEmpty())) {
            return null; // X509-SVID spec 6.2: an entry without x5c MUST be ignored
        }
        if (!x5c.isArray()) {
            throw new BundleException(
                    where
                            + ": \"x5c\" must be an array of base64 DER certificates, found "
                            + x5c.getNodeType());
        }
        // X509-SVID spec 6.2: only the first certificate of x5c is the authority.
        JsonNode first = x5c.get(0);
        if (!first.isTextual()) {
            throw new BundleException(
                    where + ": \"x5c\"[0] must be a base64 string, found " + first.getNodeType());
        }
        byte[] der;
        try {
            der = Base64.getDecoder().decode(first.textValue());
        } catch (IllegalArgumentException e) {
            throw new BundleException(where + ": \"x5c\"[0] is not base64: " + e.getMessage(), e);
        }
        try {
            return Der.certificate(der);
        } catch (Der.MalformedException e) {
            throw new BundleException(
                    where + ": \"x5c\"[0] is not a DER certificate: " + e.getMessage(), e);
        }
    }

    /** The bundle as a JWKS document (indented JSON, as SPIRE's CLI prints it). */
    public String toJson() {
        return write(true);
    }

    /** The bundle as a JWKS document on one line (as SPIRE's agent and bundle endpoint send it). */
    public String toCompactJson() {
        return write(false);
    }

    private String write(boolean indent) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode keys = root.putArray("keys");
        for (X509Certificate cert : x509Authorities) {
            ObjectNode jwk = JSON.createObjectNode();
            jwk.put("use", USE_X509_SVID);
            jwk.setAll(Jwk.toJwk(cert.getPublicKey()));
            jwk.putArray("x5c").add(Base64.getEncoder().encodeToString(Der.encoded(cert)));
            keys.add(jwk);
        }
        for (var e : jwtAuthorities.entrySet()) {
            ObjectNode jwk = JSON.createObjectNode();
            jwk.put("use", USE_JWT_SVID);
            jwk.put("kid", e.getKey());
            jwk.setAll(Jwk.toJwk(e.getValue()));
            keys.add(jwk);
        }
        refreshHint.ifPresent(h -> root.put("spiffe_refresh_hint", h.getSeconds()));
        sequenceNumber.ifPresent(s -> root.put("spiffe_sequence", s));
        try {
            return indent
                    ? JSON.writeValueAsString(root)
                    : JSON.writer()
                            .without(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@link #toJson()} as UTF-8 bytes (the Workload API's JWT bundle encoding). */
    public byte[] toJsonBytes() {
        return toJson().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "SpiffeBundle["
                + trustDomain
                + ": "
                + x509Authorities.size()
                + " X.509 authorities, JWT kids="
                + jwtAuthorities.keySet()
                + (sequenceNumber.isPresent() ? ", sequence=" + sequenceNumber.getAsLong() : "")
                + refreshHint.map(h -> ", refresh hint=" + h.getSeconds() + "s").orElse("")
                + "]";
    }
}
