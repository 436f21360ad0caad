package io.mithril.spiffe.interop;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.JwtSvid;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.svid.X509SvidValidator;
import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Third-party checks with java-spiffe (the SPIFFE project's Java library) and nimbus-jose-jwt: what
 * Mithril writes, they read, and what they hand out, Mithril reads.
 */
class JavaSpiffeInteropTest {
    static final TrustDomain TD = TrustDomain.of("example.org");
    static final io.spiffe.spiffeid.TrustDomain THEIR_TD =
            io.spiffe.spiffeid.TrustDomain.parse("example.org");
    static final String ID = "spiffe://example.org/ns/default/sa/sleep";
    static final Issued ROOT = TestCerts.root("Upstream CA");
    static final Issued INTERMEDIATE = ROOT.issue(Spec.ca("Server CA", "spiffe://example.org"));

    static X509Svid ourSvid() {
        Issued leaf = INTERMEDIATE.issue(Spec.leaf(ID));
        return X509Svid.of(List.of(leaf.cert(), INTERMEDIATE.cert()), leaf.privateKey());
    }

    @Test
    void javaSpiffeParsesOurDerSvidAsTheWorkloadApiCarriesIt() throws Exception {
        X509Svid ours = ourSvid();
        io.spiffe.svid.x509svid.X509Svid theirs =
                io.spiffe.svid.x509svid.X509Svid.parseRaw(ours.chainDer(), ours.privateKeyDer());
        assertThat(theirs.getSpiffeId().toString()).isEqualTo(ID);
        assertThat(theirs.getChain()).isEqualTo(ours.chain());
        assertThat(theirs.getPrivateKey().getEncoded()).isEqualTo(ours.privateKeyDer());
    }

    @Test
    void javaSpiffeParsesOurPemSvidAsTheAgentWritesIt() throws Exception {
        X509Svid ours = ourSvid();
        io.spiffe.svid.x509svid.X509Svid theirs =
                io.spiffe.svid.x509svid.X509Svid.parse(
                        ours.chainPem().getBytes(StandardCharsets.US_ASCII),
                        ours.privateKeyPem().getBytes(StandardCharsets.US_ASCII));
        assertThat(theirs.getSpiffeId().toString()).isEqualTo(ID);
        assertThat(theirs.getChain()).hasSize(2);
    }

    @Test
    void weParseJavaSpiffesSvidOutputAndVerifyIt() {
        X509Svid ours = ourSvid();
        io.spiffe.svid.x509svid.X509Svid theirs;
        try {
            theirs =
                    io.spiffe.svid.x509svid.X509Svid.parseRaw(
                            ours.chainDer(), ours.privateKeyDer());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        X509Svid back = X509Svid.of(theirs.getChain(), theirs.getPrivateKey());
        assertThat(back.spiffeId()).isEqualTo(SpiffeId.parse(ID));
        assertThat(
                        X509SvidValidator.verify(
                                theirs.getChain(), X509Bundle.of(TD, List.of(ROOT.cert()))))
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void javaSpiffeReadsOurBundleInDerAndPemAndVerifiesOurChainWithIt() throws Exception {
        X509Bundle ours = X509Bundle.of(TD, List.of(ROOT.cert(), TestCerts.root("Next CA").cert()));
        var fromDer = io.spiffe.bundle.x509bundle.X509Bundle.parse(THEIR_TD, ours.toDer());
        var fromPem =
                io.spiffe.bundle.x509bundle.X509Bundle.parse(
                        THEIR_TD, ours.toPem().getBytes(StandardCharsets.US_ASCII));
        assertThat(fromDer.getX509Authorities())
                .containsExactlyInAnyOrderElementsOf(ours.x509Authorities());
        assertThat(fromPem.getX509Authorities())
                .containsExactlyInAnyOrderElementsOf(ours.x509Authorities());
        io.spiffe.svid.x509svid.X509SvidValidator.verifyChain(ourSvid().chain(), fromDer);
        assertThat(X509Bundle.of(TD, fromPem.getX509Authorities()).x509Authorities())
                .containsExactlyInAnyOrderElementsOf(ours.x509Authorities());
    }

    @Test
    void javaSpiffeValidatesJwtSvidsWeSignWithABundleItParsedFromOurJwks() throws Exception {
        KeyPair p256 = TestCerts.ec("secp256r1");
        KeyPair rsa = TestCerts.rsa(2048);
        KeyPair p384 = TestCerts.ec("secp384r1");
        SpiffeBundle ours =
                SpiffeBundle.of(
                                X509Bundle.of(TD, List.of(ROOT.cert())),
                                JwtBundle.of(
                                        TD,
                                        Map.of(
                                                "p256",
                                                p256.getPublic(),
                                                "rsa",
                                                rsa.getPublic(),
                                                "p384",
                                                p384.getPublic())))
                        .withSequenceNumber(3);
        // The Workload API's FetchJWTBundles carries JWT keys only (SPIRE drops x509-svid entries
        // there);
        // java-spiffe's JwtBundle.parse insists on a kid for every key, so it needs exactly that
        // form.
        var theirBundle =
                io.spiffe.bundle.jwtbundle.JwtBundle.parse(
                        THEIR_TD, ours.jwtBundle().toJwks().getBytes(StandardCharsets.UTF_8));
        assertThat(theirBundle.getJwtAuthorities()).containsOnlyKeys("p256", "rsa", "p384");

        Instant exp = Instant.now().plus(Duration.ofMinutes(5));
        for (var signer :
                List.of(Map.entry("p256", p256), Map.entry("rsa", rsa), Map.entry("p384", p384))) {
            JwtSvid svid =
                    JwtSvid.sign(
                            SpiffeId.parse(ID),
                            List.of("backend", "db"),
                            exp,
                            signer.getKey(),
                            signer.getValue().getPrivate());
            var theirs =
                    io.spiffe.svid.jwtsvid.JwtSvid.parseAndValidate(
                            svid.token(), theirBundle, Set.of("backend"));
            assertThat(theirs.getSpiffeId().toString()).isEqualTo(ID);
            assertThat(theirs.getAudience()).containsExactlyInAnyOrder("backend", "db");
            assertThat(theirs.getExpiry().toInstant().getEpochSecond())
                    .isEqualTo(exp.getEpochSecond());
            // and back: our validator accepts the token java-spiffe accepted, with its bundle's
            // keys
            JwtBundle fromTheirs = JwtBundle.of(TD, theirBundle.getJwtAuthorities());
            assertThat(JwtSvid.parseAndValidate(theirs.getToken(), fromTheirs, "db").spiffeId())
                    .isEqualTo(SpiffeId.parse(ID));
        }
    }

    @Test
    void nimbusReadsOurBundleWithX509EntriesAsValidJwks() throws Exception {
        KeyPair p256 = TestCerts.ec("secp256r1");
        SpiffeBundle ours =
                SpiffeBundle.of(
                                X509Bundle.of(TD, List.of(ROOT.cert())),
                                JwtBundle.of(TD, Map.of("k", p256.getPublic())))
                        .withRefreshHint(Duration.ofSeconds(300));
        JWKSet set = JWKSet.parse(ours.toJson());
        assertThat(set.getKeys()).hasSize(2);
        assertThat(set.getKeys().get(0).getKeyUse().getValue()).isEqualTo("x509-svid");
        assertThat(set.getKeys().get(0).getX509CertChain()).hasSize(1);
        assertThat(set.getKeys().get(0).getKeyID()).isNull();
        assertThat(set.getKeys().get(1).getKeyID()).isEqualTo("k");
        assertThat(set.getKeys().get(1).toECKey().toECPublicKey()).isEqualTo(p256.getPublic());
    }

    @Test
    void weReadJwksWrittenByNimbus() throws Exception {
        KeyPair p256 = TestCerts.ec("secp256r1");
        KeyPair rsa = TestCerts.rsa(2048);
        ECKey ec =
                new ECKey.Builder(Curve.P_256, (ECPublicKey) p256.getPublic())
                        .keyUse(new KeyUse("jwt-svid"))
                        .keyID("ec1")
                        .build();
        RSAKey rs =
                new RSAKey.Builder((RSAPublicKey) rsa.getPublic())
                        .keyUse(new KeyUse("jwt-svid"))
                        .keyID("rsa1")
                        .build();
        ECKey x509 =
                new ECKey.Builder(Curve.P_256, (ECPublicKey) ROOT.keys().getPublic())
                        .keyUse(new KeyUse("x509-svid"))
                        .x509CertChain(
                                List.of(
                                        com.nimbusds.jose.util.Base64.encode(
                                                ROOT.cert().getEncoded())))
                        .build();
        String json = new JWKSet(List.of(x509, ec, rs)).toString(true);
        String withSequence = json.substring(0, json.lastIndexOf('}')) + ",\"spiffe_sequence\":7}";
        SpiffeBundle parsed = SpiffeBundle.parse(TD, withSequence);
        assertThat(parsed.x509Authorities()).containsExactly(ROOT.cert());
        assertThat(parsed.jwtAuthorities())
                .containsEntry("ec1", p256.getPublic())
                .containsEntry("rsa1", rsa.getPublic());
        assertThat(parsed.sequenceNumber()).hasValue(7);
    }
}
