package io.mithril.server;

import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/** An agent CA on disk and a node certificate (CN=node-1) it signed, for x509pop tests. */
record X509PopFixture(
        Path caFile, List<X509Certificate> chain, KeyPair key, X509Certificate ca, KeyPair caKey) {

    static X509PopFixture create(Path dir, Clock clock) throws Exception {
        Files.createDirectories(dir);
        X509Minter minter = new X509Minter(clock);
        KeyPair caKey = KeyType.EC_P256.generate();
        X509Certificate ca =
                minter.selfSignedCa(
                        caKey,
                        TrustDomain.parse("agents.test"),
                        Duration.ofDays(1),
                        new X500Principal("CN=Agent CA"));
        Path caFile = dir.resolve("agent-ca.pem");
        Pem.writeCertificates(caFile, List.of(ca));
        KeyPair nodeKey = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(
                        SigningAuthority.of(ca, caKey.getPrivate()),
                        nodeKey.getPublic(),
                        SpiffeId.parse("spiffe://agents.test/node-1"),
                        List.of("node-1"),
                        Duration.ofHours(2));
        return new X509PopFixture(caFile, List.of(leaf), nodeKey, ca, caKey);
    }

    /**
     * A node certificate (CN=weak) from the same CA, for {@code key}, signed with {@code sigAlg}
     * (e.g. SHA1withECDSA).
     */
    X509Certificate issue(java.security.PublicKey key, String sigAlg) throws Exception {
        java.time.Instant now = java.time.Instant.now();
        var b =
                new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
                        ca,
                        java.math.BigInteger.valueOf(now.toEpochMilli()),
                        java.util.Date.from(now.minusSeconds(60)),
                        java.util.Date.from(now.plus(Duration.ofHours(1))),
                        new X500Principal("CN=weak"),
                        key);
        b.addExtension(
                org.bouncycastle.asn1.x509.Extension.basicConstraints,
                true,
                new org.bouncycastle.asn1.x509.BasicConstraints(false));
        return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
                .getCertificate(
                        b.build(
                                new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder(sigAlg)
                                        .build(caKey.getPrivate())));
    }
}
