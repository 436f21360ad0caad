package io.mithril.proxy;

import io.mithril.pki.Pem;
import io.mithril.proxy.identity.Identity;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509SvidValidator;
import io.mithril.spiffe.testing.HeldCertificate;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;

/**
 * A test trust domain: a root CA and an intermediate (as an identity server's), with SVIDs for
 * tests built by the test kit's {@link HeldCertificate}, written as the files {@code spire-agent
 * api fetch -write} produces.
 */
final class TestPki {

    final TrustDomain trustDomain;
    final X509Certificate root;
    final HeldCertificate intermediate;

    /** A SVID written to files: chain (leaf first), key, bundle. */
    record Files(Path cert, Path key, Path bundle) {}

    TestPki(String trustDomain) {
        this.trustDomain = TrustDomain.parse(trustDomain);
        // Started two days ago, so that an SVID minted "then" for one hour is expired now.
        Clock past = Clock.offset(Clock.systemUTC(), Duration.ofDays(-2));
        HeldCertificate rootCa =
                HeldCertificate.builder()
                        .subject(CA_SUBJECT)
                        .spiffeId(this.trustDomain.id())
                        .ca(1)
                        .clock(past)
                        .validFor(Duration.ofDays(30))
                        .build();
        root = rootCa.certificate();
        intermediate =
                HeldCertificate.builder()
                        .subject(CA_SUBJECT)
                        .spiffeId(this.trustDomain.id())
                        .ca(0)
                        .clock(past)
                        .validFor(Duration.ofDays(20))
                        .signedBy(rootCa)
                        .build();
    }

    private static final X500Principal CA_SUBJECT = new X500Principal("O=SPIFFE, C=US");

    Identity identity(String id) {
        return identity(id, List.of(), Map.of());
    }

    /** An SVID with DNS SANs too (a gateway that curl reaches by host name). */
    Identity identity(String id, List<String> dnsNames) {
        return identity(id, dnsNames, Map.of());
    }

    /**
     * A fresh SVID for {@code id} (valid one hour), trusting this domain and {@code more} bundles.
     */
    Identity identity(
            String id, List<String> dnsNames, Map<TrustDomain, List<X509Certificate>> more) {
        Map<TrustDomain, List<X509Certificate>> bundles = new HashMap<>(more);
        bundles.put(trustDomain, List.of(root));
        return identity(svid(id, dnsNames, Clock.systemUTC(), Duration.ofHours(1)), bundles);
    }

    /** An SVID valid from now for {@code lifetime} only. */
    Identity shortLived(String id, Duration lifetime) {
        return identity(
                svid(id, List.of(), Clock.systemUTC(), lifetime),
                Map.of(trustDomain, List.of(root)));
    }

    /** An SVID that expired a day and more ago. */
    Identity expired(String id) {
        Clock past = Clock.offset(Clock.systemUTC(), Duration.ofDays(-2).plusMinutes(1));
        return identity(
                svid(id, List.of(), past, Duration.ofHours(1)), Map.of(trustDomain, List.of(root)));
    }

    /** A leaf X509-SVID as the identity server mints it: empty subject, the ID as only URI SAN. */
    private HeldCertificate svid(String id, List<String> dnsNames, Clock clock, Duration lifetime) {
        return HeldCertificate.builder()
                .subject(new X500Principal(""))
                .spiffeId(SpiffeId.parse(id))
                .dnsNames(dnsNames)
                .clock(clock)
                .validFor(lifetime)
                .signedBy(intermediate)
                .build();
    }

    private static Identity identity(
            HeldCertificate leaf, Map<TrustDomain, List<X509Certificate>> bundles) {
        return new Identity(
                X509SvidValidator.leafId(leaf.certificate()),
                leaf.chain(),
                leaf.privateKey(),
                bundles);
    }

    /** Writes an identity as svid.pem / svid.key / bundle.pem under {@code dir/name}. */
    static Files write(Identity id, Path dir, String name) {
        Path cert = dir.resolve(name + ".svid.pem");
        Path key = dir.resolve(name + ".svid.key");
        Path bundle = dir.resolve(name + ".bundle.pem");
        Pem.writeCertificates(cert, id.chain());
        Pem.writePrivateKey(key, id.privateKey());
        Pem.writeCertificates(bundle, id.bundles().get(id.spiffeId().trustDomain()));
        return new Files(cert, key, bundle);
    }
}
