package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.SpiffeId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CsrTest {

    static final SpiffeId ID = SpiffeId.parse("spiffe://example.org/ns/default/sa/productpage");

    @TempDir Path dir;

    static List<CryptoProvider> providers() {
        return CryptoProvider.available();
    }

    @ParameterizedTest
    @MethodSource("providers")
    void csrRoundTripsKeySpiffeIdAndDnsNames(CryptoProvider provider) {
        KeyPair kp = KeyType.EC_P256.generate(provider);
        byte[] der =
                Csr.create(kp, ID, List.of("productpage.default.svc", "productpage"), provider);
        Csr csr = Csr.parse(der, provider);
        assertThat(csr.publicKey().getEncoded()).isEqualTo(kp.getPublic().getEncoded());
        assertThat(csr.spiffeId()).contains(ID);
        assertThat(csr.dnsNames()).containsExactly("productpage.default.svc", "productpage");
        assertThat(csr.encoded()).isEqualTo(der);
    }

    @Test
    void csrWithoutIdHasNoSpiffeId() {
        Csr csr = Csr.parse(Csr.create(KeyType.EC_P256.generate(), null, List.of()));
        assertThat(csr.spiffeId()).isEmpty();
        assertThat(csr.dnsNames()).isEmpty();
    }

    @Test
    void rsaCsrRoundTrips() {
        KeyPair kp = KeyType.RSA_2048.generate();
        assertThat(Csr.parse(Csr.create(kp, ID, null)).publicKey()).isEqualTo(kp.getPublic());
    }

    @ParameterizedTest
    @MethodSource("providers")
    void tamperedCsrIsRejected(CryptoProvider provider) {
        byte[] der = Csr.create(KeyType.EC_P256.generate(), ID, List.of());
        int at = indexOf(der, "productpage".getBytes(StandardCharsets.US_ASCII));
        assertThat(at).isPositive();
        der[at] = 'P'; // the request now asks for another ID than the one signed
        assertThatThrownBy(() -> Csr.parse(der, provider))
                .isInstanceOf(CsrException.class)
                .hasMessageContaining("signature does not verify");
    }

    @Test
    void csrSignedByAnotherKeyIsRejected() throws Exception {
        KeyPair claimed = KeyType.EC_P256.generate();
        KeyPair signer = KeyType.EC_P256.generate();
        byte[] der =
                new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), claimed.getPublic())
                        .build(
                                CryptoProvider.jdk()
                                        .contentSigner(signer.getPrivate(), "SHA256withECDSA"))
                        .getEncoded();
        assertThatThrownBy(() -> Csr.parse(der))
                .isInstanceOf(CsrException.class)
                .hasMessageContaining("signature does not verify");
    }

    @ParameterizedTest
    @MethodSource("providers")
    void tamperedRsaCsrIsRejected(CryptoProvider provider) {
        byte[] der = Csr.create(KeyType.RSA_2048.generate(), ID, List.of());
        der[indexOf(der, "productpage".getBytes(StandardCharsets.US_ASCII))] = 'P';
        assertThatThrownBy(() -> Csr.parse(der, provider))
                .isInstanceOf(CsrException.class)
                .hasMessageContaining("signature does not verify");
    }

    @ParameterizedTest
    @MethodSource("providers")
    void rsaPssCsrIsVerifiedWhateverTheProvider(CryptoProvider provider) throws Exception {
        KeyPair kp = KeyType.RSA_2048.generate();
        JcaPKCS10CertificationRequestBuilder b =
                new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=pss"), kp.getPublic());
        byte[] der =
                b.build(
                                new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(
                                                "SHA256withRSAandMGF1")
                                        .setProvider(
                                                new org.bouncycastle.jce.provider
                                                        .BouncyCastleProvider())
                                        .build(kp.getPrivate()))
                        .getEncoded();
        assertThat(Csr.parse(der, provider).publicKey()).isEqualTo(kp.getPublic());
        der[der.length - 5] ^= 1; // inside the signature
        assertThatThrownBy(() -> Csr.parse(der, provider)).isInstanceOf(CsrException.class);
    }

    @Test
    void malformedDerIsRejected() {
        assertThatThrownBy(() -> Csr.parse(new byte[] {0x30, 0x03, 0x02, 0x01}))
                .isInstanceOf(CsrException.class)
                .hasMessageStartingWith("malformed CSR");
        assertThatThrownBy(() -> Csr.parse(new byte[0]))
                .isInstanceOf(CsrException.class)
                .hasMessage("CSR is empty");
    }

    @Test
    void csrWithTwoUriSansIsRejected() throws Exception {
        byte[] der = csrWithUris("spiffe://example.org/a", "spiffe://example.org/b");
        assertThatThrownBy(() -> Csr.parse(der))
                .isInstanceOf(CsrException.class)
                .hasMessageContaining("2 URI SANs")
                .hasMessageContaining("at most one");
    }

    @Test
    void csrWithNonSpiffeUriIsRejected() throws Exception {
        byte[] der = csrWithUris("https://example.org/a");
        assertThatThrownBy(() -> Csr.parse(der))
                .isInstanceOf(CsrException.class)
                .hasMessageStartingWith(
                        "CSR URI SAN \"https://example.org/a\" is not a valid SPIFFE ID");
    }

    @Test
    void opensslVerifiesOurCsr() throws Exception {
        byte[] der = Csr.create(KeyType.EC_P256.generate(), ID, List.of("a.example.org"));
        Files.writeString(
                dir.resolve("csr.pem"),
                "-----BEGIN CERTIFICATE REQUEST-----\n"
                        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                                .encodeToString(der)
                        + "\n-----END CERTIFICATE REQUEST-----\n");
        String out = Openssl.ok(dir, "req", "-in", "csr.pem", "-verify", "-noout", "-text");
        assertThat(out).contains("verify OK").contains("URI:" + ID).contains("DNS:a.example.org");
    }

    @Test
    void parsesACsrMadeByOpenssl() throws Exception {
        Openssl.ok(
                dir,
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "k.pem",
                "-subj",
                "/CN=workload",
                "-addext",
                "subjectAltName=URI:" + ID + ",DNS:w.example.org",
                "-outform",
                "DER",
                "-out",
                "csr.der");
        Csr csr = Csr.parse(Files.readAllBytes(dir.resolve("csr.der")));
        assertThat(csr.spiffeId()).contains(ID);
        assertThat(csr.dnsNames()).containsExactly("w.example.org");
        Openssl.ok(dir, "pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "pub.der");
        assertThat(csr.publicKey().getEncoded())
                .isEqualTo(Files.readAllBytes(dir.resolve("pub.der")));
    }

    static byte[] csrWithUris(String... uris) throws Exception {
        KeyPair kp = KeyType.EC_P256.generate();
        JcaPKCS10CertificationRequestBuilder b =
                new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), kp.getPublic());
        GeneralName[] names = new GeneralName[uris.length];
        for (int i = 0; i < uris.length; i++) {
            names[i] = new GeneralName(GeneralName.uniformResourceIdentifier, uris[i]);
        }
        ExtensionsGenerator eg = new ExtensionsGenerator();
        eg.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
        b.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, eg.generate());
        return b.build(CryptoProvider.jdk().contentSigner(kp.getPrivate(), "SHA256withECDSA"))
                .getEncoded();
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
