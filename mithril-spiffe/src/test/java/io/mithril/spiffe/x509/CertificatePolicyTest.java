package io.mithril.spiffe.x509;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;

class CertificatePolicyTest {

    static final String ID = "spiffe://example.org/ns/default/sa/web";
    static final KeyPair RSA_2048 = TestCerts.rsa(2048);
    final Issued rsaRoot = TestCerts.root("rsa-root", RSA_2048, "spiffe://example.org");
    final Issued ecRoot = TestCerts.root("ec-root");

    static Spec leaf(String cn) {
        Spec s = Spec.leaf(ID);
        s.cn = cn;
        return s;
    }

    static Spec ca(String cn) {
        return Spec.ca(cn, "spiffe://example.org");
    }

    static void accepted(X509Certificate... chain) {
        assertThatCode(() -> CertificatePolicy.checkPeerChain(chain)).doesNotThrowAnyException();
    }

    static org.assertj.core.api.AbstractThrowableAssert<?, ?> refused(X509Certificate... chain) {
        return assertThatThrownBy(() -> CertificatePolicy.checkPeerChain(chain))
                .isInstanceOf(WeakCertificateException.class);
    }

    @Test
    void acceptsSha256WithRsa2048AndEcdsaOnP256P384P521AndEd25519() {
        accepted(rsaRoot.issue(leaf("rsa"), TestCerts.rsa(2048)).cert(), rsaRoot.cert());
        accepted(ecRoot.issue(leaf("p256")).cert(), ecRoot.cert());
        accepted(ecRoot.issue(leaf("p384"), TestCerts.ec("secp384r1"), "SHA384withECDSA").cert());
        accepted(ecRoot.issue(leaf("p521"), TestCerts.ec("secp521r1"), "SHA512withECDSA").cert());
        accepted(ecRoot.issue(leaf("ed25519"), TestCerts.ed25519()).cert());
        accepted(rsaRoot.issue(leaf("pss"), TestCerts.rsa(2048), "SHA256withRSAandMGF1").cert());
    }

    @Test
    void refusesASha1SignedLeafNamingItsSubjectAndAlgorithm() {
        refused(
                        rsaRoot.issue(leaf("sha1-leaf"), TestCerts.rsa(2048), "SHA1withRSA").cert(),
                        rsaRoot.cert())
                .hasMessageStartingWith(
                        "leaf certificate (subject \"CN=sha1-leaf,O=Mithril test\") is signed with SHA1withRSA")
                .hasMessageContaining("SHA-1 and MD5 signatures are refused");
        refused(ecRoot.issue(leaf("sha1-ec"), TestCerts.ec256(), "SHA1withECDSA").cert())
                .hasMessageContaining("CN=sha1-ec")
                .hasMessageContaining("SHA1withECDSA");
    }

    @Test
    void refusesMd5AndPssWithSha1() {
        refused(rsaRoot.issue(leaf("md5"), TestCerts.rsa(2048), "MD5withRSA").cert())
                .hasMessageContaining("CN=md5")
                .hasMessageContaining("MD5withRSA");
        refused(rsaRoot.issue(leaf("pss-sha1"), TestCerts.rsa(2048), "SHA1withRSAandMGF1").cert())
                .hasMessageContaining("CN=pss-sha1")
                .hasMessageContaining("RSASSA-PSS with SHA-1");
    }

    @Test
    void refusesOtherSignatureAlgorithmsThanTheAcceptedOnes() {
        refused(ecRoot.issue(leaf("sha224"), TestCerts.ec256(), "SHA224withECDSA").cert())
                .hasMessageContaining("SHA224withECDSA")
                .hasMessageContaining("this signature algorithm is not accepted");
    }

    @Test
    void refusesAnRsaKeyUnder2048Bits() {
        refused(rsaRoot.issue(leaf("rsa1024"), TestCerts.rsa(1024)).cert(), rsaRoot.cert())
                .hasMessage(
                        "leaf certificate (subject \"CN=rsa1024,O=Mithril test\") has an RSA key of 1024 bits: "
                                + "RSA keys under 2048 bits are refused");
    }

    @Test
    void refusesAnEcKeyOnAnotherCurve() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", new BouncyCastleProvider());
        g.initialize(new ECGenParameterSpec("secp256k1"));
        refused(ecRoot.issue(leaf("k1"), g.generateKeyPair()).cert())
                .hasMessageContaining("CN=k1")
                .hasMessageContaining("has an EC key on secp256k1")
                .hasMessageContaining("only the named curves P-256, P-384 and P-521 are accepted");
    }

    @Test
    void refusesASha1SignedIntermediate() {
        Issued intermediate = rsaRoot.issue(ca("sha1-ca"), TestCerts.rsa(2048), "SHA1withRSA");
        Issued leaf = intermediate.issue(leaf("leaf"));
        refused(leaf.cert(), intermediate.cert(), rsaRoot.cert())
                .hasMessageStartingWith(
                        "intermediate certificate 1 (subject \"CN=sha1-ca,O=Mithril test\") is signed with SHA1withRSA");
    }

    @Test
    void theSelfSignatureOfARootEndingTheChainIsNotCheckedButItsKeyIs() {
        Spec rootSpec = ca("sha1-root");
        rootSpec.sigAlg = "SHA1withRSA";
        Issued sha1Root = TestCerts.selfSigned(rootSpec, TestCerts.rsa(2048));
        accepted(sha1Root.issue(leaf("leaf")).cert(), sha1Root.cert());

        Issued weakRoot = TestCerts.root("weak-root", TestCerts.rsa(1024), "spiffe://example.org");
        refused(weakRoot.issue(leaf("leaf")).cert(), weakRoot.cert())
                .hasMessageStartingWith(
                        "root certificate (subject \"CN=weak-root,O=Mithril test\") has an RSA key of 1024 bits");
        assertThatThrownBy(() -> CertificatePolicy.checkTrustAnchor(weakRoot.cert()))
                .hasMessageStartingWith(
                        "trust anchor (subject \"CN=weak-root,O=Mithril test\") has an RSA key of 1024 bits");
    }

    @Test
    void aSelfSignedLeafAloneIsALeafAndItsSignatureIsChecked() {
        Spec spec = leaf("self");
        spec.sigAlg = "SHA1withRSA";
        X509Certificate self = TestCerts.selfSigned(spec, TestCerts.rsa(2048)).cert();
        refused(self).hasMessageContaining("leaf certificate").hasMessageContaining("SHA1withRSA");
        assertThatThrownBy(() -> CertificatePolicy.checkPeerChain(List.of(self)))
                .isInstanceOf(WeakCertificateException.class);
    }
}
