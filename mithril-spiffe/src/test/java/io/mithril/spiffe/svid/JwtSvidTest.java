package io.mithril.spiffe.svid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.JwtBundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.HostileJwtSvids;
import io.mithril.spiffe.testing.TestCerts;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JwtSvidTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final TrustDomain TD = TrustDomain.of("example.org");
    static final SpiffeId SUB = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");
    static final Instant NOW = Instant.parse("2026-11-27T12:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final Instant EXP = NOW.plus(Duration.ofMinutes(5));
    static final KeyPair P256 = TestCerts.ec("secp256r1");
    static final KeyPair P384 = TestCerts.ec("secp384r1");
    static final KeyPair P521 = TestCerts.ec("secp521r1");
    static final KeyPair RSA = TestCerts.rsa(2048);
    static final JwtBundle BUNDLE = JwtBundle.of(TD, keys());

    static Map<String, java.security.PublicKey> keys() {
        Map<String, java.security.PublicKey> m = new LinkedHashMap<>();
        m.put("p256", P256.getPublic());
        m.put("p384", P384.getPublic());
        m.put("p521", P521.getPublic());
        m.put("rsa", RSA.getPublic());
        return m;
    }

    static JwtSvid validate(String token) {
        return JwtSvid.parseAndValidate(token, BUNDLE, "backend", CLOCK);
    }

    static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static ObjectNode header(String alg, String kid) {
        ObjectNode h = JSON.createObjectNode().put("alg", alg);
        if (kid != null) {
            h.put("kid", kid);
        }
        return h;
    }

    static ObjectNode claims() {
        ObjectNode c = JSON.createObjectNode().put("sub", SUB.toString());
        c.putArray("aud").add("backend");
        c.put("exp", EXP.getEpochSecond());
        return c;
    }

    /**
     * A token with any header and claims, signed by Nimbus with {@code alg} (whatever the header
     * says).
     */
    static String craft(ObjectNode header, ObjectNode claims, JWSAlgorithm alg, PrivateKey key)
            throws Exception {
        return HostileJwtSvids.sign(
                JSON.writeValueAsString(header), JSON.writeValueAsString(claims), alg, key);
    }

    static String craft(ObjectNode header, ObjectNode claims) throws Exception {
        return craft(header, claims, JWSAlgorithm.ES256, P256.getPrivate());
    }

    /** A token signed by nimbus-jose-jwt, a third-party JOSE implementation. */
    static String nimbus(JWSAlgorithm alg, String kid, JWSSigner signer) throws Exception {
        JWSHeader header = new JWSHeader.Builder(alg).keyID(kid).type(JOSEObjectType.JWT).build();
        JWTClaimsSet claims =
                new JWTClaimsSet.Builder()
                        .subject(SUB.toString())
                        .audience(List.of("backend", "other"))
                        .expirationTime(Date.from(EXP))
                        .issueTime(Date.from(NOW))
                        .build();
        SignedJWT jwt = new SignedJWT(header, claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    static Stream<Arguments> nimbusAlgorithms() throws Exception {
        return Stream.of(
                Arguments.of(JWSAlgorithm.RS256, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(JWSAlgorithm.RS384, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(JWSAlgorithm.RS512, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(JWSAlgorithm.PS256, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(JWSAlgorithm.PS384, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(JWSAlgorithm.PS512, "rsa", new RSASSASigner(RSA.getPrivate())),
                Arguments.of(
                        JWSAlgorithm.ES256,
                        "p256",
                        new ECDSASigner((ECPrivateKey) P256.getPrivate())),
                Arguments.of(
                        JWSAlgorithm.ES384,
                        "p384",
                        new ECDSASigner((ECPrivateKey) P384.getPrivate())),
                Arguments.of(
                        JWSAlgorithm.ES512,
                        "p521",
                        new ECDSASigner((ECPrivateKey) P521.getPrivate())));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("nimbusAlgorithms")
    void validatesTokensSignedByNimbusWithEveryAllowedAlgorithm(
            JWSAlgorithm alg, String kid, JWSSigner signer) throws Exception {
        JwtSvid svid = validate(nimbus(alg, kid, signer));
        assertThat(svid.spiffeId()).isEqualTo(SUB);
        assertThat(svid.audience()).containsExactly("backend", "other");
        assertThat(svid.expiry()).isEqualTo(EXP);
        assertThat(svid.algorithm()).isEqualTo(alg.getName());
        assertThat(svid.keyId()).isEqualTo(kid);
        assertThat(svid.issuedAt()).contains(NOW);
    }

    @Test
    void signsWithEs256ByDefaultForP256Keys() {
        JwtSvid svid = JwtSvid.sign(SUB, List.of("backend"), EXP, "p256", P256.getPrivate(), CLOCK);
        assertThat(svid.algorithm()).isEqualTo("ES256");
        JwtSvid parsed = validate(svid.token());
        assertThat(parsed.spiffeId()).isEqualTo(SUB);
        assertThat(parsed.expiry()).isEqualTo(EXP);
        assertThat(parsed.keyId()).isEqualTo("p256");
        assertThat(parsed.issuedAt()).contains(NOW);
        assertThat(parsed.claims()).containsEntry("sub", SUB.toString());
    }

    @Test
    void es256SignatureIsRawRAndSOf64Bytes() {
        String token =
                JwtSvid.sign(SUB, List.of("backend"), EXP, "p256", P256.getPrivate(), CLOCK)
                        .token();
        assertThat(Base64.getUrlDecoder().decode(token.split("\\.")[2])).hasSize(64);
    }

    @Test
    void signsHeaderAndClaimsTheWaySpireDoes() throws Exception {
        String[] parts =
                JwtSvid.sign(SUB, List.of("a", "b"), EXP, "k1", P384.getPrivate(), CLOCK)
                        .token()
                        .split("\\.");
        var header = JSON.readTree(Base64.getUrlDecoder().decode(parts[0]));
        var claims = JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
        assertThat(header.get("alg").asText()).isEqualTo("ES384");
        assertThat(header.get("kid").asText()).isEqualTo("k1");
        assertThat(header.get("typ").asText()).isEqualTo("JWT");
        assertThat(claims.get("sub").asText()).isEqualTo(SUB.toString());
        assertThat(claims.get("aud").isArray()).isTrue();
        assertThat(claims.get("exp").asLong()).isEqualTo(EXP.getEpochSecond());
        assertThat(claims.get("iat").asLong()).isEqualTo(NOW.getEpochSecond());
        assertThat(Base64.getUrlDecoder().decode(parts[2])).hasSize(96);
    }

    @Test
    void signsIssuerWhenConfiguredAndOneAudienceAsAStringAsSpireDoes() throws Exception {
        JwtSvid svid =
                JwtSvid.sign(
                        SUB,
                        List.of("backend"),
                        NOW,
                        EXP,
                        "https://oidc.example.org",
                        "p256",
                        P256.getPrivate(),
                        null);
        var claims = JSON.readTree(Base64.getUrlDecoder().decode(svid.token().split("\\.")[1]));
        assertThat(claims.get("iss").asText()).isEqualTo("https://oidc.example.org");
        assertThat(claims.get("aud").isTextual()).isTrue();
        assertThat(claims.get("iat").asLong()).isEqualTo(NOW.getEpochSecond());
        assertThat(validate(svid.token()).claims())
                .containsEntry("iss", "https://oidc.example.org");
        assertThat(svid.claims())
                .containsEntry("iss", "https://oidc.example.org")
                .containsEntry("aud", "backend");
    }

    @Test
    void signsWithRs256ForRsaAndEs512ForP521() {
        assertThat(
                        validate(
                                        JwtSvid.sign(
                                                        SUB,
                                                        List.of("backend"),
                                                        EXP,
                                                        "rsa",
                                                        RSA.getPrivate(),
                                                        CLOCK)
                                                .token())
                                .algorithm())
                .isEqualTo("RS256");
        assertThat(
                        validate(
                                        JwtSvid.sign(
                                                        SUB,
                                                        List.of("backend"),
                                                        EXP,
                                                        "p521",
                                                        P521.getPrivate(),
                                                        CLOCK)
                                                .token())
                                .algorithm())
                .isEqualTo("ES512");
    }

    @Test
    void signRejectsEmptyAudienceAndUnsupportedKeys() {
        assertThatThrownBy(() -> JwtSvid.sign(SUB, List.of(), EXP, "k", P256.getPrivate()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("audience");
        assertThatThrownBy(
                        () ->
                                JwtSvid.sign(
                                        SUB,
                                        List.of("a"),
                                        EXP,
                                        "k",
                                        TestCerts.ed25519().getPrivate()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot sign JWT-SVIDs");
    }

    @Test
    void rejectsAlgNone() throws Exception {
        String token =
                b64(JSON.writeValueAsBytes(header("none", null)))
                        + "."
                        + b64(JSON.writeValueAsBytes(claims()))
                        + ".";
        assertThatThrownBy(() -> validate(token)).isInstanceOf(JwtSvidException.class);
        String withSig = token + "AAAA";
        assertThatThrownBy(() -> validate(withSig))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("\"alg\": \"none\" is not allowed");
    }

    @Test
    void rejectsHmacSignedByNimbusWithThePublicKeyAsSecret() throws Exception {
        // The classic confusion attack: HS256 keyed with the (public) RSA modulus bytes.
        byte[] secret = RSA.getPublic().getEncoded();
        String token = nimbus(JWSAlgorithm.HS256, "rsa", new MACSigner(secret));
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("\"alg\": \"HS256\" is not allowed");
    }

    @Test
    void rejectsEdDsa() throws Exception {
        String token = craft(header("EdDSA", "p256"), claims());
        assertThatThrownBy(() -> validate(token))
                .hasMessageContaining("\"alg\": \"EdDSA\" is not allowed");
    }

    @Test
    void acceptsTypJwtJoseOrAbsent() throws Exception {
        for (String typ : new String[] {"JWT", "JOSE", null}) {
            ObjectNode h = header("ES256", "p256");
            if (typ != null) {
                h.put("typ", typ);
            }
            assertThat(validate(craft(h, claims())).spiffeId()).isEqualTo(SUB);
        }
    }

    @Test
    void rejectsOtherTyp() throws Exception {
        String token = craft(header("ES256", "p256").put("typ", "at+jwt"), claims());
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("\"typ\": \"at+jwt\" is not allowed");
    }

    @Test
    void rejectsCritHeader() throws Exception {
        ObjectNode h = header("ES256", "p256");
        h.putArray("crit").add("exp");
        assertThatThrownBy(() -> validate(craft(h, claims()))).hasMessageContaining("crit");
    }

    @Test
    void withoutKidAnyKeyOfTheBundleMayVerify() throws Exception {
        String token = craft(header("RS256", null), claims(), JWSAlgorithm.RS256, RSA.getPrivate());
        assertThat(validate(token).keyId()).isEmpty();
    }

    @Test
    void rejectsUnknownKid() throws Exception {
        String token = craft(header("ES256", "gone"), claims());
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("no JWT authority with key ID \"gone\"")
                .hasMessageContaining("example.org");
    }

    @Test
    void rejectsSignatureByAnotherKeyUnderAKnownKid() throws Exception {
        String token =
                craft(
                        header("ES256", "p256"),
                        claims(),
                        JWSAlgorithm.ES256,
                        TestCerts.ec256().getPrivate());
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void rejectsAlgorithmThatDoesNotFitTheKey() throws Exception {
        String token = craft(header("ES256", "rsa"), claims());
        assertThatThrownBy(() -> validate(token)).hasMessageContaining("does not fit the RSA key");
        String wrongCurve = craft(header("ES256", "p384"), claims());
        assertThatThrownBy(() -> validate(wrongCurve))
                .hasMessageContaining("does not fit the EC key");
    }

    @Test
    void rejectsTamperedClaims() throws Exception {
        String token = craft(header("ES256", "p256"), claims());
        String[] parts = token.split("\\.");
        ObjectNode other = claims().put("sub", "spiffe://example.org/admin");
        String tampered = parts[0] + "." + b64(JSON.writeValueAsBytes(other)) + "." + parts[2];
        assertThatThrownBy(() -> validate(tampered))
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void rejectsEcdsaSignatureInDerForm() throws Exception {
        String input =
                b64(JSON.writeValueAsBytes(header("ES256", "p256")))
                        + "."
                        + b64(JSON.writeValueAsBytes(claims()));
        var s = java.security.Signature.getInstance("SHA256withECDSA");
        s.initSign(P256.getPrivate());
        s.update(input.getBytes(StandardCharsets.US_ASCII));
        String token = input + "." + b64(s.sign());
        assertThatThrownBy(() -> validate(token)).hasMessageContaining("signature does not verify");
    }

    @Test
    void subjectsTrustDomainChoosesTheBundle() throws Exception {
        // domain.test publishes a key under the same kid; it cannot vouch for an example.org
        // subject.
        KeyPair foreign = TestCerts.ec256();
        JwtBundleSet set =
                JwtBundleSet.of(
                        JwtBundle.of(TD, Map.of("k", P256.getPublic())),
                        JwtBundle.of(
                                TrustDomain.of("domain.test"), Map.of("k", foreign.getPublic())));
        String forged =
                craft(header("ES256", "k"), claims(), JWSAlgorithm.ES256, foreign.getPrivate());
        assertThatThrownBy(() -> JwtSvid.parseAndValidate(forged, set, "backend", CLOCK))
                .hasMessageContaining("signature does not verify");
        String genuine =
                craft(
                        header("ES256", "k"),
                        claims().put("sub", "spiffe://domain.test/x"),
                        JWSAlgorithm.ES256,
                        foreign.getPrivate());
        assertThat(
                        JwtSvid.parseAndValidate(genuine, set, "backend", CLOCK)
                                .spiffeId()
                                .trustDomain()
                                .name())
                .isEqualTo("domain.test");
    }

    @Test
    void missingBundleThrowsBundleNotFound() throws Exception {
        String token = craft(header("ES256", "p256"), claims().put("sub", "spiffe://other.org/x"));
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(BundleNotFoundException.class)
                .hasMessageContaining("other.org");
    }

    @Test
    void rejectsExpiredToken() throws Exception {
        String token =
                craft(header("ES256", "p256"), claims().put("exp", NOW.getEpochSecond() - 1));
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("expired");
    }

    @Test
    void rejectsTokenExpiringExactlyNow() throws Exception {
        String token = craft(header("ES256", "p256"), claims().put("exp", NOW.getEpochSecond()));
        assertThatThrownBy(() -> validate(token)).hasMessageContaining("expired");
    }

    @Test
    void rejectsMissingExp() throws Exception {
        ObjectNode c = claims();
        c.remove("exp");
        assertThatThrownBy(() -> validate(craft(header("ES256", "p256"), c)))
                .hasMessageContaining("claim \"exp\" is missing");
    }

    @Test
    void rejectsNonNumericOrInfiniteExp() throws Exception {
        assertThatThrownBy(
                        () -> validate(craft(header("ES256", "p256"), claims().put("exp", "soon"))))
                .hasMessageContaining("must be a number");
        String huge = craft(header("ES256", "p256"), claims().put("exp", 1e300));
        assertThatThrownBy(() -> validate(huge))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("out of range");
    }

    @Test
    void rejectsNotBeforeInTheFuture() throws Exception {
        String token =
                craft(header("ES256", "p256"), claims().put("nbf", NOW.getEpochSecond() + 60));
        assertThatThrownBy(() -> validate(token)).hasMessageContaining("not valid before");
    }

    @Test
    void acceptsAudienceAsASingleString() throws Exception {
        String token = craft(header("ES256", "p256"), claims().put("aud", "backend"));
        assertThat(validate(token).audience()).containsExactly("backend");
    }

    @Test
    void rejectsMissingOrEmptyAudience() throws Exception {
        ObjectNode c = claims();
        c.remove("aud");
        assertThatThrownBy(() -> validate(craft(header("ES256", "p256"), c)))
                .hasMessageContaining("\"aud\" is missing");
        ObjectNode e = claims();
        e.putArray("aud");
        assertThatThrownBy(() -> validate(craft(header("ES256", "p256"), e)))
                .hasMessageContaining("\"aud\" is empty");
    }

    @Test
    void rejectsTokenForAnotherAudience() throws Exception {
        String token = craft(header("ES256", "p256"), claims());
        assertThatThrownBy(() -> JwtSvid.parseAndValidate(token, BUNDLE, "frontend", CLOCK))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining("does not contain the expected \"frontend\"");
    }

    @Test
    void everyExpectedAudienceMustBePresent() throws Exception {
        String token = craft(header("ES256", "p256"), claims());
        assertThatThrownBy(
                        () ->
                                JwtSvid.parseAndValidate(
                                        token, BUNDLE, Set.of("backend", "frontend"), CLOCK))
                .hasMessageContaining("frontend");
    }

    @Test
    void rejectsSubjectThatIsNotASpiffeId() throws Exception {
        String token = craft(header("ES256", "p256"), claims().put("sub", "https://example.org/x"));
        assertThatThrownBy(() -> validate(token))
                .hasMessageContaining("claim \"sub\" is not a SPIFFE ID");
        ObjectNode c = claims();
        c.remove("sub");
        assertThatThrownBy(() -> validate(craft(header("ES256", "p256"), c)))
                .hasMessageContaining("\"sub\" is missing");
    }

    static final KeyPair FOREIGN = TestCerts.ec256();
    static final JwtBundleSet WITH_FOREIGN =
            JwtBundleSet.of(
                    BUNDLE,
                    JwtBundle.of(
                            TrustDomain.of("domain.test"), Map.of("foreign", FOREIGN.getPublic())));

    static Stream<HostileJwtSvids> hostileTables() {
        // Each key type of the bundle signs its own table: the refusals must not depend on it.
        return Stream.of(
                new HostileJwtSvids(
                        SUB, "backend", "p256", P256, "foreign", FOREIGN.getPrivate(), NOW),
                new HostileJwtSvids(
                        SUB, "backend", "rsa", RSA, "foreign", FOREIGN.getPrivate(), NOW),
                new HostileJwtSvids(
                        SUB, "backend", "p521", P521, "foreign", FOREIGN.getPrivate(), NOW));
    }

    static Stream<Arguments> hostileTokens() {
        return hostileTables().flatMap(t -> t.all().stream().map(h -> Arguments.of(h.name(), h)));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("hostileTokens")
    void refusesHostileTokensSignedByTheRealKeys(String name, HostileJwtSvids.Hostile hostile) {
        assertThatThrownBy(
                        () ->
                                JwtSvid.parseAndValidate(
                                        hostile.token(), WITH_FOREIGN, "backend", CLOCK))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining(hostile.refusal());
    }

    @Test
    void theHostileTablesControlTokenIsAccepted() {
        hostileTables()
                .forEach(
                        t ->
                                assertThat(
                                                JwtSvid.parseAndValidate(
                                                                t.valid(),
                                                                WITH_FOREIGN,
                                                                "backend",
                                                                CLOCK)
                                                        .spiffeId())
                                        .isEqualTo(SUB));
    }

    static Stream<Arguments> malformedTokens() {
        return Stream.of(
                Arguments.of("", "empty"),
                Arguments.of("abc", "expected 3 dot-separated parts, found 1"),
                Arguments.of("a.b", "found 2"),
                Arguments.of("a.b.c.d", "found 4"),
                Arguments.of("eyJhbGciOiJFUzI1NiJ9.e30=.AAAA", "not unpadded base64url"),
                Arguments.of("eyJhbGciOiJFUzI1NiJ9..AAAA", "payload is empty"),
                Arguments.of("bm90IGpzb24.e30.AAAA", "header is not valid JSON"),
                Arguments.of("WzFd.e30.AAAA", "header must be a JSON object"),
                Arguments.of("eyJhbGciOjF9.e30.AAAA", "\"alg\" must be a string"),
                Arguments.of("e30.e30.AAAA", "\"alg\" is missing"));
    }

    @ParameterizedTest(name = "[{index}] {1}")
    @MethodSource("malformedTokens")
    void rejectsMalformedTokens(String token, String message) {
        assertThatThrownBy(() -> validate(token))
                .isInstanceOf(JwtSvidException.class)
                .hasMessageContaining(message);
    }

    @Test
    void rejectsDuplicateClaims() throws Exception {
        String token =
                HostileJwtSvids.sign(
                        JSON.writeValueAsString(header("ES256", "p256")),
                        "{\"sub\":\""
                                + SUB
                                + "\",\"sub\":\"spiffe://example.org/admin\",\"aud\":\"backend\",\"exp\":"
                                + EXP.getEpochSecond()
                                + "}",
                        JWSAlgorithm.ES256,
                        P256.getPrivate());
        assertThatThrownBy(() -> validate(token)).hasMessageContaining("Duplicate field 'sub'");
    }

    @Test
    void parseInsecureSkipsOnlyTheSignature() throws Exception {
        String token =
                craft(
                        header("ES256", "unknown"),
                        claims(),
                        JWSAlgorithm.ES256,
                        TestCerts.ec256().getPrivate());
        assertThat(JwtSvid.parseInsecure(token, Set.of("backend"), CLOCK).spiffeId())
                .isEqualTo(SUB);
        String expired =
                craft(header("ES256", "p256"), claims().put("exp", NOW.getEpochSecond() - 1));
        assertThatThrownBy(() -> JwtSvid.parseInsecure(expired, Set.of("backend"), CLOCK))
                .hasMessageContaining("expired");
        assertThatThrownBy(() -> JwtSvid.parseInsecure(token, Set.of("frontend"), CLOCK))
                .hasMessageContaining("frontend");
    }

    @Test
    void toStringShowsNoToken() {
        JwtSvid svid = JwtSvid.sign(SUB, List.of("backend"), EXP, "p256", P256.getPrivate(), CLOCK);
        assertThat(svid.toString())
                .contains(SUB.toString())
                .doesNotContain(svid.token().split("\\.")[2]);
        assertThat(svid.toString()).doesNotContain(svid.token().split("\\.")[1]);
    }

    @Test
    void errorMessagesDoNotQuoteTheToken() throws Exception {
        String token =
                craft(header("ES256", "p256"), claims().put("exp", NOW.getEpochSecond() - 1));
        assertThatThrownBy(() -> validate(token))
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(token.split("\\.")[2]));
    }
}
