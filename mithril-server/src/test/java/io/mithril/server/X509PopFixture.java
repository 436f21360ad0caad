package io.mithril.server;

import io.mithril.pki.Pem;
import io.mithril.spiffe.testing.HeldCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/**
 * An agent CA on disk and a node certificate (CN=node-1) it signed, for x509pop tests, built by the
 * test kit's {@link HeldCertificate}.
 */
record X509PopFixture(
        Path caFile, List<X509Certificate> chain, KeyPair key, X509Certificate ca, KeyPair caKey) {

    static X509PopFixture create(Path dir, Clock clock) throws Exception {
        Files.createDirectories(dir);
        HeldCertificate ca =
                HeldCertificate.builder()
                        .subject(new X500Principal("CN=Agent CA"))
                        .spiffeId("spiffe://agents.test")
                        .ca()
                        .clock(clock)
                        .validFor(Duration.ofDays(1))
                        .build();
        Path caFile = dir.resolve("agent-ca.pem");
        Pem.writeCertificates(caFile, List.of(ca.certificate()));
        HeldCertificate node =
                HeldCertificate.builder()
                        .subject(new X500Principal("CN=node-1,O=SPIFFE,C=US"))
                        .spiffeId("spiffe://agents.test/node-1")
                        .addDnsName("node-1")
                        .clock(clock)
                        .validFor(Duration.ofHours(2))
                        .signedBy(ca)
                        .build();
        return new X509PopFixture(
                caFile, node.chain(), node.keyPair(), ca.certificate(), ca.keyPair());
    }

    /**
     * A node certificate (CN=weak) from the same CA, for {@code key}, signed with {@code sigAlg}
     * (e.g. SHA1withECDSA).
     */
    X509Certificate issue(PublicKey key, String sigAlg) {
        return HeldCertificate.builder()
                .subject(new X500Principal("CN=weak"))
                .keyPair(new KeyPair(key, null))
                .noKeyUsage()
                .extendedKeyUsage(false)
                .validFor(Duration.ofHours(1))
                .signatureAlgorithm(sigAlg)
                .signedBy(HeldCertificate.of(ca, caKey))
                .build()
                .certificate();
    }
}
