package io.mithril.pki.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.pki.Certificates;
import io.mithril.pki.KeyType;
import io.mithril.pki.Openssl;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.pki.upstream.UpstreamAuthority.MintedX509Ca;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.spiffe.bundle.x509bundle.X509Bundle;
import io.spiffe.svid.x509svid.X509Svid;
import io.spiffe.svid.x509svid.X509SvidValidator;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SelfSignedUpstreamAuthorityTest {

    static final TrustDomain TD = TrustDomain.of("example.org");

    @TempDir Path dir;

    final SelfSignedUpstreamAuthority ua = new SelfSignedUpstreamAuthority(Clock.systemUTC());

    @Test
    void caIsSelfSignedWithTheServersKeyAndIsBothChainAndRoot() {
        KeyPair key = KeyType.RSA_2048.generate();
        MintedX509Ca minted = ua.mintX509Ca(key, TD, Duration.ofHours(24), null);
        X509Certificate ca = minted.certificate();
        assertThat(minted.chain()).containsExactly(ca);
        assertThat(minted.upstreamRoots()).containsExactly(ca);
        assertThat(ca.getPublicKey()).isEqualTo(key.getPublic());
        assertThat(Certificates.isSelfSigned(ca)).isTrue();
        assertThat(Certificates.isCa(ca)).isTrue();
        assertThat(Certificates.uriSans(ca)).containsExactly("spiffe://example.org");
        assertThat(ca.getSigAlgName()).isEqualTo("SHA256withRSA");
    }

    @Test
    void leafOfTheSelfSignedCaVerifiesWithOpensslAndJavaSpiffe() throws Exception {
        KeyPair key = KeyType.EC_P256.generate();
        MintedX509Ca minted = ua.mintX509Ca(key, TD, Duration.ofHours(24), null);
        KeyPair leafKey = KeyType.EC_P256.generate();
        SpiffeId id = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");
        X509Certificate leaf =
                new X509Minter(Clock.systemUTC())
                        .signX509Svid(
                                new SigningAuthority(
                                        minted.certificate(), key.getPrivate(), minted.chain()),
                                leafKey.getPublic(),
                                id,
                                List.of(),
                                Duration.ofHours(1));

        Openssl.Result r =
                Openssl.verify(dir, minted.upstreamRoots(), List.of(), leaf, "-x509_strict");
        assertThat(r.exitCode()).as(r.output()).isZero();
        X509Svid svid =
                X509Svid.parseRaw(
                        Certificates.concatDer(List.of(leaf)), leafKey.getPrivate().getEncoded());
        assertThat(svid.getSpiffeId().toString()).isEqualTo(id.toString());
        X509SvidValidator.verifyChain(
                svid.getChain(),
                new X509Bundle(
                        io.spiffe.spiffeid.TrustDomain.parse("example.org"),
                        Set.copyOf(minted.upstreamRoots())));
    }

    @Test
    void nonPositiveTtlIsAnUpstreamAuthorityException() {
        assertThatThrownBy(
                        () ->
                                ua.mintX509Ca(
                                        KeyType.EC_P256.generate(),
                                        TD,
                                        Duration.ofSeconds(-1),
                                        null))
                .isInstanceOf(UpstreamAuthorityException.class)
                .hasMessageContaining("TTL must be positive");
    }
}
