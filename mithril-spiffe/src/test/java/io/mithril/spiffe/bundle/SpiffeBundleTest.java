package io.mithril.spiffe.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.TestCerts;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class SpiffeBundleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final TrustDomain TD = TrustDomain.of("example.org");
    static final X509Certificate EC_ROOT = TestCerts.root("EC root").cert();
    static final X509Certificate RSA_ROOT = TestCerts.root("RSA root", TestCerts.rsa(2048)).cert();
    static final PublicKey P256 = TestCerts.ec("secp256r1").getPublic();
    static final PublicKey P384 = TestCerts.ec("secp384r1").getPublic();
    static final PublicKey P521 = TestCerts.ec("secp521r1").getPublic();
    static final PublicKey RSA = TestCerts.rsa(2048).getPublic();

    static SpiffeBundle full() {
        Map<String, PublicKey> jwt = new LinkedHashMap<>();
        jwt.put("p256", P256);
        jwt.put("p384", P384);
        jwt.put("p521", P521);
        jwt.put("rsa", RSA);
        return SpiffeBundle.of(X509Bundle.of(TD, List.of(EC_ROOT, RSA_ROOT)), JwtBundle.of(TD, jwt))
                .withSequenceNumber(42)
                .withRefreshHint(Duration.ofMinutes(5));
    }

    static ObjectNode tree(String json) throws Exception {
        return (ObjectNode) JSON.readTree(json);
    }

    static SpiffeBundle parse(JsonNode node) {
        return SpiffeBundle.parse(TD, node.toString());
    }

    @Test
    void roundTripsThroughJson() {
        SpiffeBundle bundle = full();
        SpiffeBundle parsed = SpiffeBundle.parse(TD, bundle.toJson());
        assertThat(parsed).isEqualTo(bundle);
        assertThat(parsed.x509Authorities()).containsExactly(EC_ROOT, RSA_ROOT);
        assertThat(parsed.jwtAuthorities()).containsOnlyKeys("p256", "p384", "p521", "rsa");
        assertThat(parsed.sequenceNumber()).hasValue(42);
        assertThat(parsed.refreshHint()).contains(Duration.ofMinutes(5));
    }

    @Test
    void x509EntriesCarryUseOneX5cCertificateAndNoKid() throws Exception {
        ArrayNode keys = (ArrayNode) tree(full().toJson()).get("keys");
        JsonNode first = keys.get(0);
        assertThat(first.get("use").asText()).isEqualTo("x509-svid");
        assertThat(first.has("kid")).isFalse();
        assertThat(first.get("x5c")).hasSize(1);
        assertThat(Base64.getDecoder().decode(first.get("x5c").get(0).asText()))
                .isEqualTo(EC_ROOT.getEncoded());
        assertThat(first.get("kty").asText()).isEqualTo("EC");
        assertThat(first.get("crv").asText()).isEqualTo("P-256");
        assertThat(keys.get(1).get("kty").asText()).isEqualTo("RSA");
        assertThat(keys.get(1).has("n")).isTrue();
    }

    @Test
    void jwtEntriesCarryUseKidAndKeyParameters() throws Exception {
        ArrayNode keys = (ArrayNode) tree(full().toJson()).get("keys");
        JsonNode p256 = keys.get(2);
        assertThat(p256.get("use").asText()).isEqualTo("jwt-svid");
        assertThat(p256.get("kid").asText()).isEqualTo("p256");
        assertThat(p256.get("crv").asText()).isEqualTo("P-256");
        assertThat(keys.get(3).get("crv").asText()).isEqualTo("P-384");
        assertThat(keys.get(4).get("crv").asText()).isEqualTo("P-521");
        JsonNode rsa = keys.get(5);
        assertThat(rsa.get("kty").asText()).isEqualTo("RSA");
        assertThat(rsa.get("e").asText()).isEqualTo("AQAB");
        assertThat(Base64.getUrlDecoder().decode(rsa.get("n").asText())).hasSize(256);
    }

    @Test
    void ecCoordinatesAreWrittenAtFullLengthEvenWithLeadingZeros() throws Exception {
        // About one key in 128 has a coordinate with a leading zero byte; look for one.
        ECPublicKey key = null;
        for (int i = 0; i < 5000 && key == null; i++) {
            ECPublicKey k = (ECPublicKey) TestCerts.ec256().getPublic();
            if (k.getW().getAffineX().bitLength() <= 248
                    || k.getW().getAffineY().bitLength() <= 248) {
                key = k;
            }
        }
        assertThat(key).as("a P-256 key with a short coordinate").isNotNull();
        SpiffeBundle bundle =
                SpiffeBundle.of(X509Bundle.empty(TD), JwtBundle.of(TD, Map.of("k", key)));
        JsonNode jwk = tree(bundle.toJson()).get("keys").get(0);
        assertThat(Base64.getUrlDecoder().decode(jwk.get("x").asText())).hasSize(32);
        assertThat(Base64.getUrlDecoder().decode(jwk.get("y").asText())).hasSize(32);
        assertThat(SpiffeBundle.parse(TD, bundle.toJson()).jwtAuthorities().get("k"))
                .isEqualTo(key);
    }

    @Test
    void writesSequenceAndRefreshHint() throws Exception {
        ObjectNode root = tree(full().toJson());
        assertThat(root.get("spiffe_sequence").asLong()).isEqualTo(42);
        assertThat(root.get("spiffe_refresh_hint").asLong()).isEqualTo(300);
    }

    @Test
    void omitsSequenceAndRefreshHintWhenAbsent() throws Exception {
        ObjectNode root = tree(SpiffeBundle.empty(TD).toJson());
        assertThat(root.has("spiffe_sequence")).isFalse();
        assertThat(root.has("spiffe_refresh_hint")).isFalse();
        assertThat(root.get("keys")).isEmpty();
    }

    @Test
    void emptyKeysTrustsNothing() {
        SpiffeBundle bundle = SpiffeBundle.parse(TD, "{\"keys\":[]}");
        assertThat(bundle.x509Authorities()).isEmpty();
        assertThat(bundle.jwtAuthorities()).isEmpty();
        assertThat(bundle.sequenceNumber()).isEqualTo(OptionalLong.empty());
    }

    @Test
    void missingKeysIsRejected() {
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"spiffe_sequence\":1}"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("\"keys\" is missing");
    }

    @Test
    void keysThatIsNotAnArrayIsRejected() {
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":{}}"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("must be an array");
    }

    @Test
    void unknownAndAbsentUseAreIgnored() throws Exception {
        ObjectNode root = tree(full().toJson());
        ArrayNode keys = (ArrayNode) root.get("keys");
        ((ObjectNode) keys.get(0)).put("use", "sig");
        ((ObjectNode) keys.get(1)).remove("use");
        ((ObjectNode) keys.get(2)).put("use", "future-svid");
        SpiffeBundle parsed = parse(root);
        assertThat(parsed.x509Authorities()).isEmpty();
        assertThat(parsed.jwtAuthorities()).containsOnlyKeys("p384", "p521", "rsa");
    }

    @Test
    void x509EntryWithoutX5cIsIgnored() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ObjectNode) root.get("keys").get(0)).remove("x5c");
        ((ObjectNode) root.get("keys").get(1)).putArray("x5c");
        assertThat(parse(root).x509Authorities()).isEmpty();
    }

    @Test
    void x509EntryWithSeveralCertificatesUsesTheFirst() throws Exception {
        ObjectNode root = tree(full().toJson());
        ArrayNode x5c = (ArrayNode) root.get("keys").get(0).get("x5c");
        x5c.add(Base64.getEncoder().encodeToString(RSA_ROOT.getEncoded()));
        ((ArrayNode) root.get("keys")).remove(1);
        assertThat(parse(root).x509Authorities()).containsExactly(EC_ROOT);
    }

    @Test
    void x509EntryWithBadCertificateIsRejectedNamingTheEntry() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ArrayNode) root.get("keys").get(1).get("x5c"))
                .set(0, JSON.getNodeFactory().textNode("AAAA"));
        assertThatThrownBy(() -> parse(root))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("keys[1]")
                .hasMessageContaining("x5c");
    }

    @Test
    void jwtEntryWithoutKidIsRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ObjectNode) root.get("keys").get(3)).remove("kid");
        assertThatThrownBy(() -> parse(root))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("keys[3]")
                .hasMessageContaining("kid");
    }

    @Test
    void duplicateKidIsRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ObjectNode) root.get("keys").get(3)).put("kid", "p256");
        assertThatThrownBy(() -> parse(root))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("duplicate \"kid\": \"p256\"");
    }

    @Test
    void ecPointOffTheCurveIsRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ObjectNode key = (ObjectNode) root.get("keys").get(2);
        byte[] y = Base64.getUrlDecoder().decode(key.get("y").asText());
        y[31] ^= 1;
        key.put("y", Base64.getUrlEncoder().withoutPadding().encodeToString(y));
        assertThatThrownBy(() -> parse(root))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("not on curve P-256");
    }

    @Test
    void ecCoordinateOfWrongLengthIsRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ObjectNode) root.get("keys").get(2)).put("x", "AQAB");
        assertThatThrownBy(() -> parse(root))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("\"x\" must be 32 bytes");
    }

    @Test
    void unsupportedCurveAndKeyTypeAreRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ((ObjectNode) root.get("keys").get(2)).put("crv", "secp256k1");
        assertThatThrownBy(() -> parse(root)).hasMessageContaining("unsupported EC curve");
        ObjectNode root2 = tree(full().toJson());
        ((ObjectNode) root2.get("keys").get(2)).put("kty", "oct");
        assertThatThrownBy(() -> parse(root2))
                .hasMessageContaining("unsupported key type \"kty\": \"oct\"");
    }

    @Test
    void paddedBase64UrlIsRejected() throws Exception {
        ObjectNode root = tree(full().toJson());
        ObjectNode rsa = (ObjectNode) root.get("keys").get(5);
        rsa.put("e", "AQAB=");
        assertThatThrownBy(() -> parse(root)).hasMessageContaining("unpadded");
    }

    @Test
    void readsOkpEd25519JwtKeys() {
        PublicKey ed = TestCerts.ed25519().getPublic();
        SpiffeBundle bundle =
                SpiffeBundle.of(X509Bundle.empty(TD), JwtBundle.of(TD, Map.of("ed", ed)));
        assertThat(bundle.toJson()).contains("\"OKP\"").contains("\"Ed25519\"");
        assertThat(SpiffeBundle.parse(TD, bundle.toJson()).jwtAuthorities().get("ed").getEncoded())
                .isEqualTo(ed.getEncoded());
    }

    @Test
    void negativeOrFractionalSequenceIsRejected() {
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":[],\"spiffe_sequence\":-1}"))
                .hasMessageContaining("spiffe_sequence");
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":[],\"spiffe_sequence\":1.5}"))
                .hasMessageContaining("spiffe_sequence");
        assertThatThrownBy(
                        () ->
                                SpiffeBundle.parse(
                                        TD, "{\"keys\":[],\"spiffe_refresh_hint\":\"300\"}"))
                .hasMessageContaining("spiffe_refresh_hint");
    }

    @Test
    void malformedJsonIsRejected() {
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":["))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":[]} {}"))
                .isInstanceOf(BundleException.class);
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "[]"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("expected a JSON object");
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "")).isInstanceOf(BundleException.class);
    }

    @Test
    void duplicateMembersAreRejected() {
        assertThatThrownBy(() -> SpiffeBundle.parse(TD, "{\"keys\":[],\"keys\":[]}"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("Duplicate field 'keys'");
    }

    @Test
    void ignoresUnknownTopLevelMembers() {
        assertThat(SpiffeBundle.parse(TD, "{\"keys\":[],\"spiffe_future\":true}").x509Authorities())
                .isEmpty();
    }

    @Test
    void splitsIntoX509AndJwtBundles() {
        SpiffeBundle bundle = full();
        assertThat(bundle.x509Bundle()).isEqualTo(X509Bundle.of(TD, List.of(EC_ROOT, RSA_ROOT)));
        assertThat(bundle.jwtBundle().findJwtAuthority("rsa")).contains(RSA);
        assertThat(JwtBundle.parse(TD, bundle.toJson())).isEqualTo(bundle.jwtBundle());
        assertThat(JwtBundle.parse(TD, bundle.jwtBundle().toJwks())).isEqualTo(bundle.jwtBundle());
    }
}
