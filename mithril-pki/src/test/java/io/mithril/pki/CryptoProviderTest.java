package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CryptoProviderTest {

    static List<CryptoProvider> available() {
        return CryptoProvider.available();
    }

    @Test
    void defaultIsTheFirstAvailableUnlessForced() {
        if (System.getProperty(CryptoProvider.PROPERTY) == null) {
            assertThat(CryptoProvider.get()).isSameAs(CryptoProvider.available().get(0));
        } else {
            assertThat(CryptoProvider.get().id())
                    .isEqualTo(System.getProperty(CryptoProvider.PROPERTY));
        }
    }

    @Test
    void jdkIsAlwaysAvailableAndListedLast() {
        List<CryptoProvider> all = CryptoProvider.available();
        assertThat(all).isNotEmpty();
        assertThat(all.get(all.size() - 1).id()).isEqualTo("jdk");
        assertThat(CryptoProvider.jdk().provider()).isEmpty();
    }

    @Test
    void eachProviderIsLoadedOnce() {
        assertThat(CryptoProvider.of("jdk")).isSameAs(CryptoProvider.of("JDK"));
        for (CryptoProvider p : CryptoProvider.available()) {
            assertThat(CryptoProvider.of(p.id())).isSameAs(p);
        }
    }

    @Test
    void unknownProviderIdIsRejectedNamingTheAllowedValues() {
        assertThatThrownBy(() -> CryptoProvider.of("bouncy"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "unknown crypto provider \"bouncy\": allowed values are jdk, accp, conscrypt");
    }

    @Test
    void unavailableProviderSaysWhy() {
        for (String id : CryptoProvider.IDS) {
            if (CryptoProvider.find(id).isEmpty()) {
                assertThat(CryptoProvider.unavailableReason(id)).isPresent();
                assertThatThrownBy(() -> CryptoProvider.of(id))
                        .isInstanceOf(CryptoException.class)
                        .hasMessageContaining("not usable on this platform");
            } else {
                assertThat(CryptoProvider.unavailableReason(id)).isEmpty();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("available")
    void signaturesOfEveryProviderVerifyWithTheJdk(CryptoProvider p) throws Exception {
        for (KeyType t : KeyType.values()) {
            if (t == KeyType.RSA_4096) {
                continue; // slow to generate, same code path as RSA-2048
            }
            KeyPair kp = t.generate(p);
            byte[] msg = ("hello " + t).getBytes(StandardCharsets.UTF_8);
            Signature s = p.signature(t.signatureAlgorithm());
            s.initSign(kp.getPrivate());
            s.update(msg);
            byte[] sig = s.sign();
            Signature v = CryptoProvider.jdk().signature(t.signatureAlgorithm());
            v.initVerify(kp.getPublic());
            v.update(msg);
            assertThat(v.verify(sig)).as(p.name() + " " + t).isTrue();
        }
    }

    @ParameterizedTest
    @MethodSource("available")
    void contentSignerOfEveryProviderSignsCertificatesThatVerify(CryptoProvider p)
            throws Exception {
        KeyPair kp = KeyType.EC_P256.generate(CryptoProvider.jdk()); // a key from another provider
        X509CertificateHolder holder =
                new JcaX509v3CertificateBuilder(
                                new X500Name("CN=t"),
                                java.math.BigInteger.ONE,
                                new java.util.Date(),
                                new java.util.Date(System.currentTimeMillis() + 60_000),
                                new X500Name("CN=t"),
                                kp.getPublic())
                        .build(p.contentSigner(kp.getPrivate(), "SHA256withECDSA"));
        assertThat(holder.isSignatureValid(p.contentVerifierProvider(kp.getPublic()))).isTrue();
        assertThat(
                        holder.isSignatureValid(
                                CryptoProvider.jdk().contentVerifierProvider(kp.getPublic())))
                .isTrue();
    }

    @Test
    void missingAlgorithmIsACryptoException() {
        assertThatThrownBy(() -> CryptoProvider.get().signature("SHA1withNothing"))
                .isInstanceOf(CryptoException.class)
                .hasMessageContaining("SHA1withNothing");
    }
}
