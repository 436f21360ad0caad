package io.mithril.agent.testing;

import io.mithril.agent.attestor.workload.Selector;
import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** A root and an intermediate CA minted with mithril-pki, for tests that do not need a server. */
public final class TestCa {
    public final TrustDomain trustDomain;
    public final X509Minter minter = new X509Minter(Clock.systemUTC());
    public final X509Certificate root;
    public final SigningAuthority intermediate;

    public TestCa(String td) {
        trustDomain = TrustDomain.parse(td);
        KeyPair rootKey = KeyType.EC_P256.generate();
        root = minter.selfSignedCa(rootKey, trustDomain, Duration.ofHours(2), null);
        KeyPair intKey = KeyType.EC_P256.generate();
        X509Certificate intCert =
                minter.signCa(
                        SigningAuthority.of(root, rootKey.getPrivate()),
                        intKey.getPublic(),
                        trustDomain,
                        Duration.ofHours(1),
                        null);
        intermediate = new SigningAuthority(intCert, intKey.getPrivate(), List.of(intCert, root));
    }

    public SpiffeBundle bundle() {
        return SpiffeBundle.of(
                        X509Bundle.of(trustDomain, List.of(root)), JwtBundle.empty(trustDomain))
                .withSequenceNumber(1)
                .withRefreshHint(Duration.ofSeconds(300));
    }

    public static RegistrationEntry entry(String spiffeId, String... selectors) {
        return new RegistrationEntry(
                UUID.randomUUID().toString(),
                SpiffeId.parse(spiffeId),
                SpiffeId.parse(
                        "spiffe://"
                                + SpiffeId.parse(spiffeId).trustDomain().name()
                                + "/spire/agent/join_token/x"),
                Arrays.stream(selectors).map(Selector::parse).collect(Collectors.toSet()),
                0,
                0,
                List.of(),
                Set.of(),
                "",
                1);
    }

    public CachedSvid svid(RegistrationEntry e, Duration ttl) {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(intermediate, key.getPublic(), e.spiffeId(), e.dnsNames(), ttl);
        Instant nb = leaf.getNotBefore().toInstant();
        return new CachedSvid(
                e.id(),
                e.spiffeId(),
                List.of(leaf, intermediate.certificate()),
                key.getPrivate(),
                CachedSvid.rotationTime(nb, leaf.getNotAfter().toInstant(), Math.random()),
                e);
    }
}
