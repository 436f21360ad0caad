package io.mithril.agent.endpoints.workload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.agent.cache.JwtAuthority;
import io.mithril.agent.cache.TrustBundle;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JWT-SVID validation rules, with tokens signed here by ES256 and RS256 keys of the bundle. */
class JwtSvidVerifierTest {

    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private final Instant now = Instant.parse("2026-11-27T12:00:00Z");

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String token(String alg, String kid, String claims, KeyPair key) throws Exception {
        String header = "{\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\",\"typ\":\"JWT\"}";
        String signingInput = b64(header.getBytes(StandardCharsets.UTF_8)) + "." + b64(claims.getBytes(StandardCharsets.UTF_8));
        Signature s = Signature.getInstance(alg.startsWith("ES") ? "SHA256withECDSAinP1363Format" : "SHA256withRSA");
        s.initSign(key.getPrivate());
        s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
        return signingInput + "." + b64(s.sign());
    }

    private static KeyPair ec() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private Map<TrustDomain, TrustBundle> bundle(String kid, KeyPair key) {
        return Map.of(TD, new TrustBundle(TD, List.of(), List.of(new JwtAuthority(kid, key.getPublic(), null)), 1, 300));
    }

    private String claims(String aud, Instant exp) {
        return "{\"sub\":\"spiffe://example.org/w\",\"aud\":[\"" + aud + "\"],\"exp\":" + exp.getEpochSecond() + "}";
    }

    @Test
    void es256TokenForTheAudienceIsValid() throws Exception {
        KeyPair k = ec();
        JwtSvidVerifier.Verified v = JwtSvidVerifier.verify(token("ES256", "k1", claims("a", now.plusSeconds(60)), k), "a", bundle("k1", k), now);
        assertThat(v.subject().toString()).isEqualTo("spiffe://example.org/w");
    }

    @Test
    void rs256TokenIsValid() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair k = g.generateKeyPair();
        assertThat(JwtSvidVerifier.verify(token("RS256", "r", claims("a", now.plusSeconds(60)), k), "a", bundle("r", k), now)
                .subject().toString()).isEqualTo("spiffe://example.org/w");
    }

    @Test
    void tamperedClaimsFailTheSignature() throws Exception {
        KeyPair k = ec();
        String[] parts = token("ES256", "k1", claims("a", now.plusSeconds(60)), k).split("\\.");
        String forged = parts[0] + "." + b64(claims("a", now.plusSeconds(6000)).getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertThatThrownBy(() -> JwtSvidVerifier.verify(forged, "a", bundle("k1", k), now)).hasMessageContaining("signature is invalid");
    }

    @Test
    void expiredTokenIsRefused() throws Exception {
        KeyPair k = ec();
        assertThatThrownBy(() -> JwtSvidVerifier.verify(token("ES256", "k1", claims("a", now.minusSeconds(1)), k), "a", bundle("k1", k), now))
                .hasMessageContaining("expired");
    }

    @Test
    void wrongAudienceIsRefusedQuotingBoth() throws Exception {
        KeyPair k = ec();
        assertThatThrownBy(() -> JwtSvidVerifier.verify(token("ES256", "k1", claims("a", now.plusSeconds(60)), k), "b", bundle("k1", k), now))
                .hasMessageContaining("expected audience in [\"b\"]").hasMessageContaining("\"a\"");
    }

    @Test
    void unknownKeyIdIsRefused() throws Exception {
        KeyPair k = ec();
        assertThatThrownBy(() -> JwtSvidVerifier.verify(token("ES256", "other", claims("a", now.plusSeconds(60)), k), "a", bundle("k1", k), now))
                .hasMessageContaining("no JWT authority \"other\"");
    }

    @Test
    void algNoneIsRefused() throws Exception {
        KeyPair k = ec();
        String t = b64("{\"alg\":\"none\",\"kid\":\"k1\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64(claims("a", now.plusSeconds(60)).getBytes(StandardCharsets.UTF_8)) + ".";
        assertThatThrownBy(() -> JwtSvidVerifier.verify(t, "a", bundle("k1", k), now)).hasMessageContaining("alg \"none\" is not allowed");
    }

    @Test
    void malformedTokenSaysWhatIsWrong() {
        assertThatThrownBy(() -> JwtSvidVerifier.verify("abc", "a", Map.of(), now)).hasMessageContaining("not a compact JWS");
    }
}
