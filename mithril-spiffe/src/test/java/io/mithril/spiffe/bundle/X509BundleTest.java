package io.mithril.spiffe.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.TestCerts;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.junit.jupiter.api.Test;

class X509BundleTest {
    static final TrustDomain TD = TrustDomain.of("example.org");
    static final X509Certificate ROOT_A = TestCerts.root("Root A").cert();
    static final X509Certificate ROOT_B = TestCerts.root("Root B", TestCerts.rsa(2048)).cert();

    @Test
    void parsesPemWithSeveralCertificatesKeepingTheirOrder() {
        X509Bundle bundle =
                X509Bundle.parsePem(TD, X509Bundle.of(TD, List.of(ROOT_A, ROOT_B)).toPem());
        assertThat(bundle.trustDomain()).isEqualTo(TD);
        assertThat(bundle.x509Authorities()).containsExactly(ROOT_A, ROOT_B);
    }

    @Test
    void pemIsStandardCertificateBlocks() {
        String pem = X509Bundle.of(TD, List.of(ROOT_A)).toPem();
        assertThat(pem)
                .startsWith("-----BEGIN CERTIFICATE-----\n")
                .endsWith("-----END CERTIFICATE-----\n");
        assertThat(pem.lines().filter(l -> !l.startsWith("-----")).allMatch(l -> l.length() <= 64))
                .isTrue();
    }

    @Test
    void parsesPemWrittenByBouncyCastleWithSurroundingText() throws Exception {
        StringWriter w = new StringWriter();
        w.write("# upstream root\nBag Attributes: none\n");
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(ROOT_A);
        }
        assertThat(
                        X509Bundle.parsePem(TD, w.toString().getBytes(StandardCharsets.US_ASCII))
                                .x509Authorities())
                .containsExactly(ROOT_A);
    }

    @Test
    void parsesConcatenatedDer() {
        byte[] der = X509Bundle.of(TD, List.of(ROOT_A, ROOT_B)).toDer();
        assertThat(X509Bundle.parseDer(TD, der).x509Authorities()).containsExactly(ROOT_A, ROOT_B);
    }

    @Test
    void derIsTheCertificatesEncodingsBackToBack() throws Exception {
        byte[] der = X509Bundle.of(TD, List.of(ROOT_A, ROOT_B)).toDer();
        byte[] a = ROOT_A.getEncoded();
        byte[] b = ROOT_B.getEncoded();
        assertThat(Arrays.copyOfRange(der, 0, a.length)).isEqualTo(a);
        assertThat(Arrays.copyOfRange(der, a.length, der.length)).isEqualTo(b);
    }

    @Test
    void rejectsDerWithTrailingGarbageNamingTheOffset() throws Exception {
        byte[] a = ROOT_A.getEncoded();
        byte[] der = Arrays.copyOf(a, a.length + 3);
        der[a.length] = 'x';
        assertThatThrownBy(() -> X509Bundle.parseDer(TD, der))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("byte " + a.length)
                .hasMessageContaining("example.org");
    }

    @Test
    void rejectsTruncatedDer() throws Exception {
        byte[] a = ROOT_A.getEncoded();
        assertThatThrownBy(() -> X509Bundle.parseDer(TD, Arrays.copyOf(a, a.length - 10)))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("not valid DER");
    }

    @Test
    void rejectsEmptyDer() {
        assertThatThrownBy(() -> X509Bundle.parseDer(TD, new byte[0]))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("no DER certificate");
    }

    @Test
    void rejectsPemInsteadOfDer() {
        byte[] pem = X509Bundle.of(TD, List.of(ROOT_A)).toPem().getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> X509Bundle.parseDer(TD, pem))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("expected a DER certificate");
    }

    @Test
    void rejectsPemWithoutCertificates() {
        assertThatThrownBy(() -> X509Bundle.parsePem(TD, "hello\n"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("no CERTIFICATE block");
    }

    @Test
    void rejectsPemHoldingAPrivateKey() throws Exception {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(ROOT_A);
            pw.writeObject(TestCerts.ec256().getPrivate());
        }
        assertThatThrownBy(() -> X509Bundle.parsePem(TD, w.toString()))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("PEM block 2")
                .hasMessageContaining("expected a CERTIFICATE");
    }

    @Test
    void rejectsCorruptPemBase64() {
        String pem = X509Bundle.of(TD, List.of(ROOT_A)).toPem();
        String corrupt = pem.replaceFirst("\n[A-Za-z0-9+/]{10}", "\n!!!!!!!!!!");
        assertThatThrownBy(() -> X509Bundle.parsePem(TD, corrupt))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("malformed");
    }

    @Test
    void parseDetectsPemOrDer() {
        X509Bundle bundle = X509Bundle.of(TD, List.of(ROOT_A, ROOT_B));
        assertThat(
                        X509Bundle.parse(
                                TD, ("\n" + bundle.toPem()).getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo(bundle);
        assertThat(X509Bundle.parse(TD, bundle.toDer())).isEqualTo(bundle);
        assertThatThrownBy(() -> X509Bundle.parse(TD, " \n".getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("empty");
    }

    @Test
    void duplicateAuthoritiesCollapse() {
        assertThat(X509Bundle.of(TD, List.of(ROOT_A, ROOT_A)).x509Authorities())
                .containsExactly(ROOT_A);
    }

    @Test
    void authoritiesCannotBeModified() {
        X509Bundle bundle = X509Bundle.of(TD, List.of(ROOT_A));
        assertThatThrownBy(() -> bundle.x509Authorities().add(ROOT_B))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(bundle.withX509Authority(ROOT_B).x509Authorities())
                .containsExactly(ROOT_A, ROOT_B);
        assertThat(bundle.x509Authorities()).containsExactly(ROOT_A);
    }

    @Test
    void isItsOwnBundleSourceForItsTrustDomainOnly() {
        X509Bundle bundle = X509Bundle.of(TD, List.of(ROOT_A));
        assertThat(bundle.bundleFor(TD)).isSameAs(bundle);
        assertThatThrownBy(() -> bundle.bundleFor(TrustDomain.of("domain.test")))
                .isInstanceOf(BundleNotFoundException.class)
                .hasMessageContaining("\"domain.test\"");
    }

    @Test
    void emptyBundleTrustsNothing() {
        assertThat(X509Bundle.empty(TD).isEmpty()).isTrue();
        assertThat(X509Bundle.empty(TD).hasX509Authority(ROOT_A)).isFalse();
    }
}
