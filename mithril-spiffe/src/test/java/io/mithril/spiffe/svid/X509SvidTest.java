package io.mithril.spiffe.svid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.io.StringWriter;
import java.security.KeyPair;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;

class X509SvidTest {
    static final String ID = "spiffe://example.org/ns/default/sa/sleep";
    static final Issued ROOT = TestCerts.root("Upstream CA");
    static final Issued INTERMEDIATE = ROOT.issue(Spec.ca("Server CA", "spiffe://example.org"));

    static Issued leaf(Spec spec) {
        return INTERMEDIATE.issue(spec);
    }

    static X509Svid svidFrom(Spec spec) {
        Issued leaf = leaf(spec);
        return X509Svid.of(List.of(leaf.cert(), INTERMEDIATE.cert()), leaf.privateKey());
    }

    @Test
    void readsTheSpiffeIdFromTheLeaf() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        assertThat(svid.spiffeId()).isEqualTo(SpiffeId.parse(ID));
        assertThat(svid.chain()).hasSize(2);
        assertThat(svid.leaf()).isSameAs(svid.chain().get(0));
        assertThat(svid.hint()).isEmpty();
    }

    @Test
    void parsesPemChainAndPkcs8KeyWrittenByItself() {
        Issued leaf = leaf(Spec.leaf(ID));
        X509Svid svid =
                X509Svid.of(
                        List.of(leaf.cert(), INTERMEDIATE.cert()), leaf.privateKey(), "internal");
        assertThat(svid.privateKeyPem()).startsWith("-----BEGIN PRIVATE KEY-----\n");
        X509Svid parsed = X509Svid.parsePem(svid.chainPem(), svid.privateKeyPem());
        assertThat(parsed.chain()).isEqualTo(svid.chain());
        assertThat(parsed.privateKey().getEncoded()).isEqualTo(leaf.privateKey().getEncoded());
        assertThat(parsed.spiffeId()).isEqualTo(svid.spiffeId());
    }

    @Test
    void parsesDerChainAndPkcs8DerKey() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        X509Svid parsed = X509Svid.parseDer(svid.chainDer(), svid.privateKeyDer(), "db");
        assertThat(parsed.chain()).isEqualTo(svid.chain());
        assertThat(parsed.hint()).isEqualTo("db");
        assertThat(parsed.spiffeId()).isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void acceptsRsaAndEd25519Keys() {
        Issued rsaLeaf = INTERMEDIATE.issue(Spec.leaf(ID), TestCerts.rsa(2048));
        assertThat(X509Svid.of(List.of(rsaLeaf.cert()), rsaLeaf.privateKey()).spiffeId())
                .isEqualTo(SpiffeId.parse(ID));
        Issued edLeaf = INTERMEDIATE.issue(Spec.leaf(ID), TestCerts.ed25519());
        X509Svid ed = X509Svid.of(List.of(edLeaf.cert()), edLeaf.privateKey());
        assertThat(X509Svid.parseDer(ed.chainDer(), ed.privateKeyDer()).spiffeId())
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void rejectsKeyThatDoesNotMatchTheLeaf() {
        Issued leaf = leaf(Spec.leaf(ID));
        KeyPair other = TestCerts.ec256();
        assertThatThrownBy(() -> X509Svid.of(List.of(leaf.cert()), other.getPrivate()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("does not match the leaf");
    }

    @Test
    void rejectsKeyOfAnotherAlgorithm() {
        Issued leaf = leaf(Spec.leaf(ID));
        assertThatThrownBy(
                        () -> X509Svid.of(List.of(leaf.cert()), TestCerts.rsa(2048).getPrivate()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("private key is RSA")
                .hasMessageContaining("EC");
    }

    @Test
    void rejectsTraditionalEcPrivateKeyPem() throws Exception {
        Issued leaf = leaf(Spec.leaf(ID));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(leaf.keys());
        }
        assertThat(w.toString()).contains("EC PRIVATE KEY");
        String chain = X509Svid.of(List.of(leaf.cert()), leaf.privateKey()).chainPem();
        assertThatThrownBy(() -> X509Svid.parsePem(chain, w.toString()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("expected a PKCS#8 PRIVATE KEY");
    }

    @Test
    void rejectsMalformedPkcs8Der() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        assertThatThrownBy(
                        () ->
                                X509Svid.parseDer(
                                        svid.chainDer(), new byte[] {0x30, 0x03, 0x02, 0x01}))
                .isInstanceOf(X509SvidException.class)
                .hasMessageStartingWith("private key: ");
    }

    @Test
    void rejectsPkcs8WithTrailingBytes() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        byte[] key = java.util.Arrays.copyOf(svid.privateKeyDer(), svid.privateKeyDer().length + 2);
        assertThatThrownBy(() -> X509Svid.parseDer(svid.chainDer(), key))
                .isInstanceOf(X509SvidException.class)
                .hasMessageStartingWith("private key: ");
    }

    @Test
    void rejectsEncryptedPrivateKeyPem() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        String encrypted = svid.privateKeyPem().replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        assertThatThrownBy(() -> X509Svid.parsePem(svid.chainPem(), encrypted))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("encrypted keys are not supported");
    }

    @Test
    void rejectsKeyPemWithTwoKeys() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        assertThatThrownBy(
                        () ->
                                X509Svid.parsePem(
                                        svid.chainPem(),
                                        svid.privateKeyPem() + svid.privateKeyPem()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("expected a single PRIVATE KEY");
    }

    @Test
    void rejectsEmptyChain() {
        assertThatThrownBy(() -> X509Svid.of(List.of(), TestCerts.ec256().getPrivate()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("chain is empty");
        assertThatThrownBy(() -> X509Svid.parsePem("", ""))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("no CERTIFICATE block");
    }

    @Test
    void rejectsLeafWithoutUriSan() {
        Spec spec = Spec.leaf(ID);
        spec.uris.clear();
        spec.dns.add("sleep.default.svc");
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("has no URI SAN");
    }

    @Test
    void rejectsLeafWithTwoUriSans() {
        Spec spec = Spec.leaf(ID);
        spec.uris.add("spiffe://example.org/other");
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("has 2 URI SANs");
    }

    @Test
    void rejectsLeafWhoseUriSanIsNotASpiffeId() {
        Spec spec = Spec.leaf("https://example.org/sleep");
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("URI SAN is not a SPIFFE ID")
                .hasMessageContaining("https://example.org/sleep");
    }

    @Test
    void rejectsLeafWithTrustDomainIdOnly() {
        assertThatThrownBy(() -> svidFrom(Spec.leaf("spiffe://example.org")))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("non-root path");
    }

    @Test
    void acceptsDnsSansNextToTheUriSan() {
        Spec spec = Spec.leaf(ID);
        spec.dns.add("sleep.default.svc.cluster.local");
        assertThat(svidFrom(spec).spiffeId()).isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void acceptsLeafWithoutBasicConstraints() {
        Spec spec = Spec.leaf(ID);
        spec.ca = null;
        assertThat(svidFrom(spec).spiffeId()).isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void rejectsLeafThatIsACa() {
        Spec spec = Spec.leaf(ID);
        spec.ca = true;
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("CA=true");
    }

    @Test
    void rejectsLeafWithoutKeyUsage() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = null;
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("no keyUsage");
    }

    @Test
    void rejectsLeafWithoutDigitalSignature() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = KeyUsage.keyEncipherment;
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("lacks digitalSignature");
    }

    @Test
    void rejectsLeafWithKeyCertSign() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = KeyUsage.digitalSignature | KeyUsage.keyCertSign;
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("keyCertSign");
    }

    @Test
    void rejectsLeafWithCrlSign() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = KeyUsage.digitalSignature | KeyUsage.cRLSign;
        assertThatThrownBy(() -> svidFrom(spec))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("cRLSign");
    }

    @Test
    void rejectsSigningCertificateThatIsNotACa() {
        Spec notCa = Spec.ca("Not a CA");
        notCa.ca = false;
        Issued bad = ROOT.issue(notCa);
        Issued leaf = bad.issue(Spec.leaf(ID));
        assertThatThrownBy(() -> X509Svid.of(List.of(leaf.cert(), bad.cert()), leaf.privateKey()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("signing certificate 1")
                .hasMessageContaining("CN=Not a CA")
                .hasMessageContaining("not a CA");
    }

    @Test
    void rejectsSigningCertificateWithoutKeyCertSign() {
        Spec spec = Spec.ca("No keyCertSign");
        spec.keyUsage = KeyUsage.cRLSign;
        Issued bad = ROOT.issue(spec);
        Issued leaf = bad.issue(Spec.leaf(ID));
        assertThatThrownBy(() -> X509Svid.of(List.of(leaf.cert(), bad.cert()), leaf.privateKey()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("lacks keyCertSign");
    }

    @Test
    void rejectsSigningCertificateWhoseSpiffeIdHasAPath() {
        Issued bad = ROOT.issue(Spec.ca("Pathy CA", "spiffe://example.org/ca"));
        Issued leaf = bad.issue(Spec.leaf(ID));
        assertThatThrownBy(() -> X509Svid.of(List.of(leaf.cert(), bad.cert()), leaf.privateKey()))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("has a path");
    }

    @Test
    void rejectsSpiffeIdThatDiffersFromTheLeaf() {
        Issued leaf = leaf(Spec.leaf(ID));
        assertThatThrownBy(
                        () ->
                                new X509Svid(
                                        SpiffeId.parse("spiffe://example.org/other"),
                                        List.of(leaf.cert()),
                                        leaf.privateKey(),
                                        ""))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("does not match");
    }

    @Test
    void toStringShowsNoKeyMaterial() {
        X509Svid svid = svidFrom(Spec.leaf(ID));
        String text = svid.toString();
        assertThat(text).contains(ID);
        assertThat(text)
                .doesNotContain(
                        Base64.getEncoder().encodeToString(svid.privateKeyDer()).substring(0, 20));
        assertThat(text).doesNotContainIgnoringCase("private");
    }
}
