package io.mithril.spiffe.svid;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.security.Key;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.interfaces.ECKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A JWT-SVID: a compact JWS whose claims name a SPIFFE ID ({@code sub}), one or more audiences
 * ({@code aud}) and an expiry ({@code exp}).
 *
 * <p>{@link #parseAndValidate} accepts a token only if: it is three unpadded base64url parts; the
 * header's {@code alg} is RS256/384/512, ES256/384/512 or PS256/384/512 ({@code none} and HMAC are
 * refused), {@code typ} is absent, {@code JWT} or {@code JOSE}, and there is no {@code crit};
 * {@code sub} is a SPIFFE ID; {@code aud} (a string or an array of strings) contains every expected
 * audience; {@code exp} is after the clock's now and {@code nbf}, if present, not after it; and the
 * signature verifies with the JWT authority of the subject's trust domain named by {@code kid}
 * (without {@code kid}, with any authority of that bundle).
 *
 * <p>This is the project's one JWT-SVID implementation: the server mints with {@link #sign}, the
 * agent's {@code ValidateJWTSVID} (hence {@code agent api validate jwt}) validates with {@link
 * #parseAndValidate}. The JWS cryptography (signing, verification, the JOSE form of ECDSA
 * signatures and its range checks) is Nimbus JOSE+JWT's, as in java-spiffe; the rules above and the
 * strict decoding (unpadded base64url, JSON without duplicate members) are this class's, so that
 * every refusal names the rule that broke. The token is decoded once, and Nimbus verifies exactly
 * the bytes and the algorithm these rules accepted.
 *
 * @param spiffeId the subject
 * @param audience the audiences, in token order
 * @param expiry {@code exp}
 * @param algorithm the header's {@code alg}
 * @param keyId the header's {@code kid}, "" if absent
 * @param claims all claims, as JSON values (String, Number, Boolean, List, Map)
 * @param token the compact serialisation; a bearer credential, never log it
 * @param hint the Workload API's operator hint ("" if none)
 */
public record JwtSvid(
        SpiffeId spiffeId,
        List<String> audience,
        Instant expiry,
        String algorithm,
        String keyId,
        Map<String, Object> claims,
        String token,
        String hint) {

    /** Header {@code typ} values a JWT-SVID may carry. */
    public static final Set<String> ALLOWED_TYP = Set.of("JWT", "JOSE");

    /**
     * The JWS algorithms a JWT-SVID may use, as SPIRE and go-spiffe allow them: no {@code none}, no
     * HMAC.
     */
    public static final Set<JWSAlgorithm> ALLOWED_ALGORITHMS =
            Set.of(
                    JWSAlgorithm.RS256,
                    JWSAlgorithm.RS384,
                    JWSAlgorithm.RS512,
                    JWSAlgorithm.ES256,
                    JWSAlgorithm.ES384,
                    JWSAlgorithm.ES512,
                    JWSAlgorithm.PS256,
                    JWSAlgorithm.PS384,
                    JWSAlgorithm.PS512);

    private static final ObjectMapper JSON =
            new ObjectMapper()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    public JwtSvid {
        Objects.requireNonNull(spiffeId, "spiffeId");
        audience = List.copyOf(audience);
        Objects.requireNonNull(expiry, "expiry");
        Objects.requireNonNull(algorithm, "algorithm");
        keyId = keyId == null ? "" : keyId;
        claims = Collections.unmodifiableMap(new LinkedHashMap<>(claims));
        Objects.requireNonNull(token, "token");
        hint = hint == null ? "" : hint;
    }

    /**
     * Parses and validates with the system clock. @see #parseAndValidate(String, BundleSource, Set,
     * Clock)
     */
    public static JwtSvid parseAndValidate(
            String token, BundleSource<JwtBundle> bundles, String expectedAudience) {
        return parseAndValidate(token, bundles, Set.of(expectedAudience), Clock.systemUTC());
    }

    /**
     * @see #parseAndValidate(String, BundleSource, Set, Clock)
     */
    public static JwtSvid parseAndValidate(
            String token, BundleSource<JwtBundle> bundles, String expectedAudience, Clock clock) {
        return parseAndValidate(token, bundles, Set.of(expectedAudience), clock);
    }

    /**
     * Parses a token and validates it completely, signature included.
     *
     * @param expectedAudiences audiences that must all appear in {@code aud}; at least one
     * @throws JwtSvidException if the token is malformed, expired, for another audience, or its
     *     signature does not verify with the bundle of its subject's trust domain
     * @throws BundleNotFoundException if {@code bundles} has no bundle for that trust domain
     */
    public static JwtSvid parseAndValidate(
            String token,
            BundleSource<JwtBundle> bundles,
            Set<String> expectedAudiences,
            Clock clock) {
        Objects.requireNonNull(bundles, "bundles");
        return parse(token, bundles, expectedAudiences, clock);
    }

    /**
     * Parses a token and checks everything except its signature: for a holder that received its own
     * token over an authenticated channel (the agent from the server, a workload from the Workload
     * API) and wants its subject and expiry. Never use this to authenticate a peer.
     *
     * @throws JwtSvidException if the token is malformed, expired or for another audience
     */
    public static JwtSvid parseInsecure(String token, Set<String> expectedAudiences, Clock clock) {
        return parse(token, null, expectedAudiences, clock);
    }

    private static JwtSvid parse(
            String token,
            BundleSource<JwtBundle> bundles,
            Set<String> expectedAudiences,
            Clock clock) {
        Objects.requireNonNull(clock, "clock");
        if (expectedAudiences == null || expectedAudiences.isEmpty()) {
            throw new IllegalArgumentException(
                    "at least one expected audience is required to validate a JWT-SVID");
        }
        if (token == null || token.isEmpty()) {
            throw new JwtSvidException("token is empty");
        }
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw new JwtSvidException(
                    "token is not a compact JWS: expected 3 dot-separated parts, found "
                            + parts.length);
        }
        JsonNode header = jsonPart(parts[0], "header");
        JWSAlgorithm alg = algorithm(stringMember(header, "alg", "header"));
        JsonNode typ = header.get("typ");
        if (typ != null && (!typ.isTextual() || !ALLOWED_TYP.contains(typ.textValue()))) {
            throw new JwtSvidException(
                    "header \"typ\": "
                            + printable(typ.toString())
                            + " is not allowed (JWT or JOSE)");
        }
        if (header.has("crit")) {
            throw new JwtSvidException(
                    "header \"crit\" names extensions this validator does not understand");
        }
        String kid = "";
        JsonNode kidNode = header.get("kid");
        if (kidNode != null) {
            if (!kidNode.isTextual()) {
                throw new JwtSvidException(
                        "header \"kid\" must be a string, found " + printable(kidNode.toString()));
            }
            kid = kidNode.textValue();
        }
        JsonNode claims = jsonPart(parts[1], "payload");
        b64(parts[2], "signature");

        String sub = stringMember(claims, "sub", "claim");
        SpiffeId subject;
        try {
            subject = SpiffeId.parse(sub);
        } catch (InvalidSpiffeIdException e) {
            throw new JwtSvidException("claim \"sub\" is not a SPIFFE ID: " + e.getMessage(), e);
        }
        List<String> aud = audience(claims.get("aud"));
        Instant exp = numericDate(claims, "exp", true);

        if (bundles != null) {
            verifySignature(parts, alg, kid, subject, bundles);
        }

        Instant now = clock.instant();
        if (!now.isBefore(exp)) {
            throw new JwtSvidException("token expired at " + exp + " (now " + now + ")");
        }
        Instant nbf = numericDate(claims, "nbf", false);
        if (nbf != null && now.isBefore(nbf)) {
            throw new JwtSvidException("token is not valid before " + nbf + " (now " + now + ")");
        }
        for (String expected : expectedAudiences) {
            if (!aud.contains(expected)) {
                throw new JwtSvidException(
                        "audience " + aud + " does not contain the expected \"" + expected + "\"");
            }
        }
        Map<String, Object> claimMap =
                JSON.convertValue(claims, new TypeReference<Map<String, Object>>() {});
        return new JwtSvid(subject, aud, exp, alg.getName(), kid, claimMap, token, "");
    }

    private static JWSAlgorithm algorithm(String name) {
        JWSAlgorithm alg = JWSAlgorithm.parse(name);
        if (!ALLOWED_ALGORITHMS.contains(alg)) {
            throw new JwtSvidException(
                    "header \"alg\": \""
                            + printable(name)
                            + "\" is not allowed for a JWT-SVID (RS256/384/512, ES256/384/512, PS256/384/512)");
        }
        return alg;
    }

    /**
     * Checks the signature with the key {@code kid} names in the bundle of the subject's trust
     * domain.
     */
    private static void verifySignature(
            String[] parts,
            JWSAlgorithm alg,
            String kid,
            SpiffeId subject,
            BundleSource<JwtBundle> bundles) {
        JwtBundle bundle = bundles.bundleFor(subject.trustDomain());
        if (bundle == null || !bundle.trustDomain().equals(subject.trustDomain())) {
            throw new BundleNotFoundException(subject.trustDomain());
        }
        List<PublicKey> candidates = new ArrayList<>();
        if (!kid.isEmpty()) {
            PublicKey key =
                    bundle.findJwtAuthority(kid)
                            .orElseThrow(
                                    () ->
                                            new JwtSvidException(
                                                    "no JWT authority with key ID \""
                                                            + printable(kid)
                                                            + "\" in the bundle of trust domain \""
                                                            + subject.trustDomain()
                                                            + "\""));
            if (!fits(alg, key)) {
                throw new JwtSvidException(
                        "header \"alg\": \""
                                + alg
                                + "\" does not fit the "
                                + key.getAlgorithm()
                                + " key with key ID \""
                                + printable(kid)
                                + "\"");
            }
            candidates.add(key);
        } else {
            bundle.jwtAuthorities().values().stream()
                    .filter(k -> fits(alg, k))
                    .forEach(candidates::add);
        }
        // Nimbus verifies the bytes and the algorithm the rules accepted; the header it sees
        // carries nothing else (no crit), so nothing of the token can widen what it allows.
        JWSHeader checked = new JWSHeader(alg);
        byte[] input = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        Base64URL signature = new Base64URL(parts[2]);
        for (PublicKey key : candidates) {
            try {
                if (verifier(key).verify(checked, input, signature)) {
                    return;
                }
            } catch (JOSEException | RuntimeException e) {
                // a malformed signature or an unusable key simply does not verify
            }
        }
        throw new JwtSvidException(
                "signature does not verify with "
                        + (kid.isEmpty()
                                ? "any JWT authority"
                                : "the JWT authority with key ID \"" + printable(kid) + "\"")
                        + " of trust domain \""
                        + subject.trustDomain()
                        + "\"");
    }

    private static JWSVerifier verifier(PublicKey key) throws JOSEException {
        if (key instanceof ECPublicKey ec) {
            return new ECDSAVerifier(ec);
        }
        return new RSASSAVerifier((RSAPublicKey) key);
    }

    /**
     * Whether a key of this type and size can carry {@code alg}: RSA for RS/PS, the matching curve
     * for ES.
     */
    private static boolean fits(JWSAlgorithm alg, Key key) {
        if (JWSAlgorithm.Family.EC.contains(alg)) {
            return key instanceof ECKey ec
                    && Curve.forJWSAlgorithm(alg)
                            .contains(Curve.forECParameterSpec(ec.getParams()));
        }
        return key instanceof RSAKey;
    }

    /**
     * Signs a JWT-SVID, as the server does (SPIRE's form): header {@code alg} (ES256/384/512 by the
     * key's curve, RS256 for RSA), {@code kid}, {@code typ: JWT}; claims {@code sub}, {@code aud}
     * (a string for one audience, an array for more), {@code exp} and {@code iat} (whole seconds).
     *
     * @param kid the key ID under which the public key is in the trust domain's JWT bundle; null or
     *     "" for none
     * @throws IllegalArgumentException if {@code aud} is empty or the key cannot sign JWT-SVIDs
     */
    public static JwtSvid sign(
            SpiffeId sub, List<String> aud, Instant exp, String kid, PrivateKey key) {
        return sign(sub, aud, exp, kid, key, Clock.systemUTC());
    }

    /**
     * @see #sign(SpiffeId, List, Instant, String, PrivateKey); {@code iat} comes from {@code
     *     clock}.
     */
    public static JwtSvid sign(
            SpiffeId sub, List<String> aud, Instant exp, String kid, PrivateKey key, Clock clock) {
        Objects.requireNonNull(clock, "clock");
        return sign(sub, aud, clock.instant(), exp, null, kid, key, null);
    }

    /**
     * Signs a JWT-SVID with every choice of the server's: the issue time from its clock, an {@code
     * iss} claim when {@code jwt_issuer} is configured, and its crypto provider.
     *
     * @param issuer the {@code iss} claim; null or "" for none
     * @param provider the JCA provider that signs; null for the JDK's default lookup
     * @see #sign(SpiffeId, List, Instant, String, PrivateKey)
     */
    public static JwtSvid sign(
            SpiffeId sub,
            List<String> aud,
            Instant issuedAt,
            Instant exp,
            String issuer,
            String kid,
            PrivateKey key,
            Provider provider) {
        Objects.requireNonNull(sub, "sub");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(exp, "exp");
        Objects.requireNonNull(key, "key");
        if (aud == null || aud.isEmpty() || aud.stream().anyMatch(a -> a == null || a.isEmpty())) {
            throw new IllegalArgumentException(
                    "a JWT-SVID needs at least one non-empty audience, got " + aud);
        }
        JWSAlgorithm alg = signingAlgorithm(key);
        JWSSigner signer;
        try {
            signer =
                    JWSAlgorithm.Family.EC.contains(alg)
                            ? new ECDSASigner(key, Curve.forJWSAlgorithm(alg).iterator().next())
                            : new RSASSASigner(key);
        } catch (JOSEException e) {
            throw new IllegalArgumentException(
                    "cannot sign JWT-SVIDs with this key: " + e.getMessage(), e);
        }
        if (provider != null) {
            signer.getJCAContext().setProvider(provider);
        }
        JWSHeader.Builder header = new JWSHeader.Builder(alg).type(JOSEObjectType.JWT);
        if (kid != null && !kid.isEmpty()) {
            header.keyID(kid);
        }
        JWTClaimsSet.Builder claims =
                new JWTClaimsSet.Builder()
                        .subject(sub.toString())
                        .audience(List.copyOf(aud))
                        .expirationTime(Date.from(Instant.ofEpochSecond(exp.getEpochSecond())))
                        .issueTime(Date.from(Instant.ofEpochSecond(issuedAt.getEpochSecond())));
        if (issuer != null && !issuer.isEmpty()) {
            claims.issuer(issuer);
        }
        SignedJWT jwt = new SignedJWT(header.build(), claims.build());
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalArgumentException(
                    "cannot sign JWT-SVID with " + alg + ": " + e.getMessage(), e);
        }
        Map<String, Object> claimMap =
                JSON.convertValue(
                        jsonPart(jwt.getPayload().toBase64URL().toString(), "payload"),
                        new TypeReference<Map<String, Object>>() {});
        return new JwtSvid(
                sub,
                aud,
                Instant.ofEpochSecond(exp.getEpochSecond()),
                alg.getName(),
                kid == null ? "" : kid,
                claimMap,
                jwt.serialize(),
                "");
    }

    /**
     * The algorithm the server signs with: ES256/384/512 by curve (P-256/384/521 only), RS256 for
     * RSA.
     */
    private static JWSAlgorithm signingAlgorithm(PrivateKey key) {
        if (key instanceof ECKey ec) {
            Curve curve = Curve.forECParameterSpec(ec.getParams());
            if (Curve.P_256.equals(curve)) {
                return JWSAlgorithm.ES256;
            } else if (Curve.P_384.equals(curve)) {
                return JWSAlgorithm.ES384;
            } else if (Curve.P_521.equals(curve)) {
                return JWSAlgorithm.ES512;
            }
            throw new IllegalArgumentException(
                    "EC key on "
                            + (curve == null ? "an unnamed curve" : curve)
                            + ": JWT-SVIDs are signed with P-256, P-384 or P-521");
        }
        if (key instanceof RSAKey) {
            return JWSAlgorithm.RS256;
        }
        throw new IllegalArgumentException(
                "key algorithm \""
                        + key.getAlgorithm()
                        + "\" cannot sign JWT-SVIDs (RSA or EC P-256/P-384/P-521 only)");
    }

    /** This SVID with a Workload API hint. */
    public JwtSvid withHint(String newHint) {
        return new JwtSvid(spiffeId, audience, expiry, algorithm, keyId, claims, token, newHint);
    }

    /** {@code iat}, if present. */
    public Optional<Instant> issuedAt() {
        Object iat = claims.get("iat");
        return iat instanceof Number n
                ? Optional.of(Instant.ofEpochSecond(n.longValue()))
                : Optional.empty();
    }

    /** Describes the SVID without the token, which is a bearer credential. */
    @Override
    public String toString() {
        return "JwtSvid["
                + spiffeId
                + ", aud="
                + audience
                + ", exp="
                + expiry
                + ", alg="
                + algorithm
                + (keyId.isEmpty() ? "" : ", kid=" + keyId)
                + (hint.isEmpty() ? "" : ", hint=" + hint)
                + "]";
    }

    private static List<String> audience(JsonNode aud) {
        if (aud == null || aud.isNull()) {
            throw new JwtSvidException(
                    "claim \"aud\" is missing; a JWT-SVID must name its audience");
        }
        List<String> out = new ArrayList<>();
        if (aud.isTextual()) {
            out.add(aud.textValue());
        } else if (aud.isArray()) {
            for (JsonNode a : aud) {
                if (!a.isTextual()) {
                    throw new JwtSvidException(
                            "claim \"aud\" must hold strings, found " + printable(a.toString()));
                }
                out.add(a.textValue());
            }
        } else {
            throw new JwtSvidException(
                    "claim \"aud\" must be a string or an array of strings, found "
                            + aud.getNodeType());
        }
        if (out.isEmpty()) {
            throw new JwtSvidException("claim \"aud\" is empty; a JWT-SVID must name its audience");
        }
        return out;
    }

    private static Instant numericDate(JsonNode claims, String name, boolean required) {
        JsonNode v = claims.get(name);
        if (v == null || v.isNull()) {
            if (required) {
                throw new JwtSvidException("claim \"" + name + "\" is missing");
            }
            return null;
        }
        if (!v.isNumber()) {
            throw new JwtSvidException(
                    "claim \""
                            + name
                            + "\" must be a number of seconds, found "
                            + printable(v.toString()));
        }
        BigDecimal seconds;
        try {
            seconds = v.decimalValue();
        } catch (NumberFormatException e) { // NaN or infinity
            throw new JwtSvidException(
                    "claim \"" + name + "\" is not a finite number: " + printable(v.toString()), e);
        }
        // Instant's range, in seconds.
        if (seconds.compareTo(BigDecimal.valueOf(-31557014167219200L)) < 0
                || seconds.compareTo(BigDecimal.valueOf(31556889864403199L)) > 0) {
            throw new JwtSvidException(
                    "claim \"" + name + "\" is out of range: " + printable(v.toString()));
        }
        long whole = seconds.setScale(0, RoundingMode.FLOOR).longValueExact();
        long nanos = seconds.subtract(BigDecimal.valueOf(whole)).movePointRight(9).longValue();
        return Instant.ofEpochSecond(whole, nanos);
    }

    private static JsonNode jsonPart(String part, String what) {
        byte[] bytes = b64(part, what);
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new JwtSvidException(
                    what
                            + " is not valid JSON: "
                            + (e instanceof JsonProcessingException j
                                    ? j.getOriginalMessage()
                                    : e.getMessage()),
                    e);
        }
        if (node == null || !node.isObject()) {
            throw new JwtSvidException(what + " must be a JSON object");
        }
        return node;
    }

    private static String stringMember(JsonNode node, String name, String what) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            throw new JwtSvidException(what + " \"" + name + "\" is missing");
        }
        if (!v.isTextual()) {
            throw new JwtSvidException(
                    what + " \"" + name + "\" must be a string, found " + printable(v.toString()));
        }
        return v.textValue();
    }

    private static byte[] b64(String part, String what) {
        if (part.isEmpty()) {
            throw new JwtSvidException(what + " is empty");
        }
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            boolean ok =
                    (c >= 'A' && c <= 'Z')
                            || (c >= 'a' && c <= 'z')
                            || (c >= '0' && c <= '9')
                            || c == '-'
                            || c == '_';
            if (!ok) {
                throw new JwtSvidException(
                        what
                                + " is not unpadded base64url (character '"
                                + printable(String.valueOf(c))
                                + "' at "
                                + i
                                + ")");
            }
        }
        try {
            return Base64.getUrlDecoder().decode(part);
        } catch (IllegalArgumentException e) {
            throw new JwtSvidException(what + " is not base64url: " + e.getMessage(), e);
        }
    }

    /** Shortens and escapes values from the token for error messages. */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length() && i < 80; i++) {
            char c = s.charAt(i);
            sb.append(c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return s.length() > 80 ? sb + "...(" + s.length() + " chars)" : sb.toString();
    }
}
