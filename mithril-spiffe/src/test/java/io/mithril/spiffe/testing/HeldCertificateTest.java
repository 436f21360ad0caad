package io.mithril.spiffe.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509SvidException;
import io.mithril.spiffe.svid.X509SvidValidator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The test kit's certificate builder makes what it says, and the defaults are a valid SVID. */
class HeldCertificateTest {

    private static final TrustDomain TD = TrustDomain.parse("example.org");
    private static final String SLEEP = "spiffe://example.org/ns/default/sa/sleep";

    @Test
    void defaultsMakeAnX509SvidThatTheValidatorAccepts() throws Exception {
        HeldCertificate root =
                HeldCertificate.builder().spiffeId("spiffe://example.org").ca(1).build();
        HeldCertificate intermediate =
                HeldCertificate.builder()
                        .spiffeId("spiffe://example.org")
                        .ca(0)
                        .signedBy(root)
                        .build();
        HeldCertificate leaf =
                HeldCertificate.builder().spiffeId(SLEEP).signedBy(intermediate).build();

        assertThat(leaf.chain()).containsExactly(leaf.certificate(), intermediate.certificate());
        assertThat(leaf.root()).isEqualTo(root.certificate());
        assertThat(X509SvidValidator.verify(leaf.chain(), X509Bundle.of(TD, List.of(root.root()))))
                .isEqualTo(SpiffeId.parse(SLEEP));
        assertThat(leaf.x509Svid().spiffeId()).isEqualTo(SpiffeId.parse(SLEEP));
        assertThat(leaf.certificate().getPublicKey()).isInstanceOf(ECPublicKey.class);
        assertThat(leaf.certificate().getBasicConstraints()).isEqualTo(-1);
        assertThat(leaf.certificate().getExtendedKeyUsage())
                .containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    }

    @Test
    void caCarriesItsPathLengthAndSignsOnlyCertificates() throws Exception {
        HeldCertificate ca = HeldCertificate.builder().commonName("ca").ca(2).build();

        assertThat(ca.certificate().getBasicConstraints()).isEqualTo(2);
        boolean[] usage = ca.certificate().getKeyUsage();
        assertThat(usage[5]).as("keyCertSign").isTrue();
        assertThat(usage[0]).as("digitalSignature").isFalse();
        assertThat(ca.certificate().getExtendedKeyUsage()).isNull();
        assertThat(ca.certificate().getSubjectX500Principal().getName())
                .isEqualTo("CN=ca,O=Mithril test");
        assertThatThrownBy(() -> HeldCertificate.builder().ca(-1))
                .hasMessageContaining("invalid maxPathLen: -1");
    }

    @Test
    void dnsNamesRsaKeysAndTheInjectedClockShapeTheCertificate() throws Exception {
        Instant then = Instant.parse("2030-01-01T00:00:00Z");
        HeldCertificate c =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .addDnsName("sleep.default.svc")
                        .rsa2048()
                        .clock(Clock.fixed(then, ZoneOffset.UTC))
                        .validFor(Duration.ofMinutes(5))
                        .build();

        assertThat(c.certificate().getPublicKey()).isInstanceOf(RSAPublicKey.class);
        assertThat(
                        c.certificate().getSubjectAlternativeNames().stream()
                                .map(l -> String.valueOf(l.get(1))))
                .containsExactly(SLEEP, "sleep.default.svc");
        assertThat(c.certificate().getNotBefore().toInstant()).isEqualTo(then.minusSeconds(10));
        assertThat(c.certificate().getNotAfter().toInstant())
                .isEqualTo(then.plus(Duration.ofMinutes(5)));
        assertThat(c.certificatePem()).startsWith("-----BEGIN CERTIFICATE-----\n");
        assertThat(c.privateKeyPkcs8Pem()).startsWith("-----BEGIN PRIVATE KEY-----\n");
    }

    @Test
    void anExpiredLeafIsRefusedAtTheClocksNow() {
        HeldCertificate root = HeldCertificate.builder().ca(0).build();
        HeldCertificate old =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .clock(Clock.offset(Clock.systemUTC(), Duration.ofDays(-2)))
                        .validFor(Duration.ofHours(1))
                        .signedBy(root)
                        .build();

        assertThatThrownBy(
                        () ->
                                X509SvidValidator.verify(
                                        old.chain(),
                                        X509Bundle.of(TD, List.of(root.certificate()))))
                .isInstanceOf(X509SvidException.class);
    }

    @Test
    void anEmptySubjectAsTheServerMintsMakesTheSanCritical() {
        HeldCertificate c =
                HeldCertificate.builder()
                        .subject(new javax.security.auth.x500.X500Principal(""))
                        .spiffeId(SLEEP)
                        .signedBy(HeldCertificate.builder().ca(0).build())
                        .build();

        assertThat(c.certificate().getCriticalExtensionOIDs()).contains("2.5.29.17");
        assertThat(c.x509Svid().spiffeId()).isEqualTo(SpiffeId.parse(SLEEP));
    }

    @Test
    void rulesCanBeBrokenOnPurpose() {
        HeldCertificate c =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .noBasicConstraints()
                        .noKeyUsage()
                        .extendedKeyUsage(false)
                        .rsa(1024)
                        .signatureAlgorithm("SHA1withRSA")
                        .build();

        assertThat(c.certificate().getBasicConstraints()).isEqualTo(-1);
        assertThat(c.certificate().getKeyUsage()).isNull();
        assertThat(c.certificate().getSigAlgName()).isEqualToIgnoringCase("SHA1withRSA");
        assertThatThrownBy(
                        () ->
                                HeldCertificate.builder()
                                        .validityInterval(Instant.EPOCH, Instant.EPOCH))
                .hasMessageContaining("invalid interval");
    }
}
