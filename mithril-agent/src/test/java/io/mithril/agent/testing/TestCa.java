package io.mithril.agent.testing;

import io.mithril.agent.cache.CachedSvid;
import io.mithril.agent.cache.RegistrationEntry;
import io.mithril.api.selector.Selector;
import io.mithril.spiffe.bundle.JwtBundle;
import io.mithril.spiffe.bundle.SpiffeBundle;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.HeldCertificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import javax.security.auth.x500.X500Principal;

/**
 * A root and an intermediate CA built by the test kit's {@link HeldCertificate}, for tests that do
 * not need a server.
 */
public final class TestCa {
    public final TrustDomain trustDomain;
    public final X509Certificate root;
    public final HeldCertificate intermediate;

    public TestCa(String td) {
        trustDomain = TrustDomain.parse(td);
        HeldCertificate rootCa =
                HeldCertificate.builder()
                        .spiffeId(trustDomain.id())
                        .ca(1)
                        .validFor(Duration.ofHours(2))
                        .build();
        root = rootCa.certificate();
        intermediate =
                HeldCertificate.builder()
                        .spiffeId(trustDomain.id())
                        .ca(0)
                        .validFor(Duration.ofHours(1))
                        .signedBy(rootCa)
                        .build();
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
        HeldCertificate leaf =
                HeldCertificate.builder()
                        .subject(new X500Principal(""))
                        .spiffeId(e.spiffeId())
                        .dnsNames(e.dnsNames())
                        .validFor(ttl)
                        .signedBy(intermediate)
                        .build();
        X509Certificate cert = leaf.certificate();
        Instant nb = cert.getNotBefore().toInstant();
        return new CachedSvid(
                e.id(),
                e.spiffeId(),
                leaf.chain(),
                leaf.privateKey(),
                CachedSvid.rotationTime(nb, cert.getNotAfter().toInstant(), Math.random()),
                e);
    }
}
