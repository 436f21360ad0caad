package io.mithril.proxy;

import io.mithril.pki.KeyType;
import io.mithril.pki.Pem;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.proxy.identity.Identity;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * A test trust domain: a root CA and an intermediate (as an identity server's), minting SVIDs for
 * tests, writing them as the files {@code spire-agent api fetch -write} produces.
 */
final class TestPki {

    final TrustDomain trustDomain;
    final X509Certificate root;
    final SigningAuthority intermediate;
    private final SigningAuthority pastIntermediate;

    /** A SVID written to files: chain (leaf first), key, bundle. */
    record Files(Path cert, Path key, Path bundle) {}

    TestPki(String trustDomain) {
        this.trustDomain = TrustDomain.parse(trustDomain);
        // Started two days ago, so that an SVID minted "then" for one hour is expired now.
        Clock past = Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC);
        X509Minter minter = new X509Minter(past);
        KeyPair rootKey = KeyType.EC_P256.generate();
        root = minter.selfSignedCa(rootKey, this.trustDomain, Duration.ofDays(30), null);
        SigningAuthority rootCa = SigningAuthority.of(root, rootKey.getPrivate());
        KeyPair intKey = KeyType.EC_P256.generate();
        X509Certificate intCert =
                minter.signCa(
                        rootCa, intKey.getPublic(), this.trustDomain, Duration.ofDays(20), null);
        intermediate = new SigningAuthority(intCert, intKey.getPrivate(), List.of(intCert));
        pastIntermediate = intermediate;
    }

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
        KeyPair kp = KeyType.EC_P256.generate();
        X509Certificate leaf =
                new X509Minter(Clock.systemUTC())
                        .signX509Svid(
                                intermediate,
                                kp.getPublic(),
                                SpiffeId.parse(id),
                                dnsNames,
                                Duration.ofHours(1));
        java.util.Map<TrustDomain, List<X509Certificate>> bundles = new java.util.HashMap<>(more);
        bundles.put(trustDomain, List.of(root));
        return new Identity(
                SpiffeId.parse(id),
                List.of(leaf, intermediate.certificate()),
                kp.getPrivate(),
                bundles);
    }

    /** An SVID valid from now for {@code lifetime} only. */
    Identity shortLived(String id, Duration lifetime) {
        KeyPair kp = KeyType.EC_P256.generate();
        X509Certificate leaf =
                new X509Minter(Clock.systemUTC())
                        .signX509Svid(
                                intermediate,
                                kp.getPublic(),
                                SpiffeId.parse(id),
                                List.of(),
                                lifetime);
        return new Identity(
                SpiffeId.parse(id),
                List.of(leaf, intermediate.certificate()),
                kp.getPrivate(),
                Map.of(trustDomain, List.of(root)));
    }

    /** An SVID that expired a day and more ago. */
    Identity expired(String id) {
        KeyPair kp = KeyType.EC_P256.generate();
        Clock past =
                Clock.fixed(
                        Instant.now().minus(Duration.ofDays(2)).plus(Duration.ofMinutes(1)),
                        ZoneOffset.UTC);
        X509Certificate leaf =
                new X509Minter(past)
                        .signX509Svid(
                                pastIntermediate,
                                kp.getPublic(),
                                SpiffeId.parse(id),
                                List.of(),
                                Duration.ofHours(1));
        return new Identity(
                SpiffeId.parse(id),
                List.of(leaf, intermediate.certificate()),
                kp.getPrivate(),
                Map.of(trustDomain, List.of(root)));
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
