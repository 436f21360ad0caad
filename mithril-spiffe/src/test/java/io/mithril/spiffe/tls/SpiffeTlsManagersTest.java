package io.mithril.spiffe.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.testing.TestCerts;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SpiffeTlsManagersTest {

    static final TrustDomain TD = TrustDomain.parse("example.org");
    static final SpiffeId ISTIOD = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/istiod");

    final TestCerts.Issued root = TestCerts.root("root", TestCerts.ec256(), "spiffe://example.org");
    final X509BundleSet bundles = X509BundleSet.of(X509Bundle.of(TD, List.of(root.cert())));

    X509Svid svid(TestCerts.Issued issuer, String id) {
        TestCerts.Issued leaf = issuer.issue(TestCerts.Spec.leaf(id));
        return X509Svid.of(List.of(leaf.cert()), leaf.privateKey());
    }

    static X509Certificate[] chain(X509Svid s) {
        return s.chain().toArray(new X509Certificate[0]);
    }

    @Test
    void trustManagerAcceptsAnAuthorizedSvidAndReturnsItsId() throws Exception {
        SpiffeTrustManager tm = new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.exactly(ISTIOD));
        assertThat(tm.verify(chain(svid(root, ISTIOD.toString())), "server")).isEqualTo(ISTIOD);
    }

    @Test
    void trustManagerRefusesAValidSvidWithAnotherIdNamingBoth() {
        SpiffeTrustManager tm = new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.exactly(ISTIOD));
        assertThatThrownBy(
                        () ->
                                tm.checkServerTrusted(
                                        chain(svid(root, "spiffe://example.org/impostor")),
                                        "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessage(
                        "server SPIFFE ID spiffe://example.org/impostor is not authorized: expected the SPIFFE ID "
                                + ISTIOD);
    }

    @Test
    void trustManagerRefusesAnSvidFromAnotherRoot() {
        TestCerts.Issued foreignRoot =
                TestCerts.root("foreign", TestCerts.ec256(), "spiffe://example.org");
        SpiffeTrustManager tm = new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.memberOf(TD));
        assertThatThrownBy(
                        () ->
                                tm.checkClientTrusted(
                                        chain(svid(foreignRoot, ISTIOD.toString())), "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("client certificate is not a valid X509-SVID");
    }

    @Test
    void trustManagerRefusesAnotherTrustDomainEvenWithItsBundle() {
        TestCerts.Issued otherRoot =
                TestCerts.root("other", TestCerts.ec256(), "spiffe://other.org");
        X509BundleSet both =
                bundles.with(
                        X509Bundle.of(TrustDomain.parse("other.org"), List.of(otherRoot.cert())));
        SpiffeTrustManager tm = new SpiffeTrustManager(both, SpiffeIdAuthorizer.memberOf(TD));
        assertThatThrownBy(
                        () ->
                                tm.checkClientTrusted(
                                        chain(svid(otherRoot, "spiffe://other.org/gw")),
                                        "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining("expected a SPIFFE ID of trust domain example.org");
    }

    @Test
    void trustManagerRefusesAnEmptyChain() {
        SpiffeTrustManager tm = new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.memberOf(TD));
        assertThatThrownBy(() -> tm.checkClientTrusted(new X509Certificate[0], "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining("presented no certificate");
    }

    @Test
    void trustManagerAcceptsOneOfTheListedIdsAndRefusesOthers() throws Exception {
        SpiffeTrustManager tm =
                new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.oneOf(List.of(ISTIOD)));
        assertThat(tm.verify(chain(svid(root, ISTIOD.toString())), "client")).isEqualTo(ISTIOD);
        assertThatThrownBy(
                        () -> tm.verify(chain(svid(root, "spiffe://example.org/other")), "client"))
                .hasMessageContaining("is not authorized: expected one of the SPIFFE IDs");
    }

    @Test
    void anyAuthorizerAcceptsAnyIdTheBundleVouchesFor() throws Exception {
        SpiffeTrustManager tm = new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.any());
        assertThat(tm.verify(chain(svid(root, "spiffe://example.org/any")), "client"))
                .isEqualTo(SpiffeId.parse("spiffe://example.org/any"));
    }

    @Test
    void trustManagerRevalidatesACachedChainOnceTheBundleNoLongerHoldsItsRoot() throws Exception {
        AtomicReference<X509BundleSet> current = new AtomicReference<>(bundles);
        SpiffeTrustManager tm =
                new SpiffeTrustManager(
                        td -> current.get().bundleFor(td), SpiffeIdAuthorizer.memberOf(TD));
        X509Certificate[] chain = chain(svid(root, ISTIOD.toString()));
        tm.verify(chain, "client");
        TestCerts.Issued newRoot = TestCerts.root("new", TestCerts.ec256(), "spiffe://example.org");
        current.set(X509BundleSet.of(X509Bundle.of(TD, List.of(newRoot.cert()))));
        assertThatThrownBy(() -> tm.verify(chain, "client"))
                .hasMessageStartingWith("client certificate is not a valid X509-SVID");
    }

    @Test
    void trustManagerValidatesAtItsClocksTime() {
        java.time.Clock later =
                java.time.Clock.fixed(
                        java.time.Instant.now().plus(java.time.Duration.ofDays(3650)),
                        java.time.ZoneOffset.UTC);
        SpiffeTrustManager tm =
                new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.memberOf(TD), later);
        assertThatThrownBy(() -> tm.verify(chain(svid(root, ISTIOD.toString())), "client"))
                .hasMessageStartingWith("client certificate is not a valid X509-SVID");
    }

    @Test
    void refusalListenerIsToldOfEachRefusedPeerWithTheReason() {
        List<String> refused = new java.util.ArrayList<>();
        SpiffeTrustManager tm =
                new SpiffeTrustManager(bundles, SpiffeIdAuthorizer.exactly(ISTIOD))
                        .withRefusalListener((peer, reason) -> refused.add(reason.getMessage()));
        assertThatThrownBy(
                        () ->
                                tm.checkServerTrusted(
                                        chain(svid(root, "spiffe://example.org/impostor")),
                                        "ECDHE_ECDSA"))
                .isInstanceOf(CertificateException.class);
        assertThat(refused)
                .containsExactly(
                        "server SPIFFE ID spiffe://example.org/impostor is not authorized: expected the SPIFFE ID "
                                + ISTIOD);
    }

    @Test
    void keyManagerServesTheCurrentSvidAndKeepsChainAndKeyOfOneAliasTogether() {
        X509Svid first = svid(root, ISTIOD.toString());
        X509Svid second = svid(root, ISTIOD.toString());
        AtomicReference<X509Svid> current = new AtomicReference<>(first);
        SpiffeKeyManager km = new SpiffeKeyManager(current::get);

        String alias = km.chooseEngineServerAlias("EC", null, null);
        current.set(second); // rotation between the alias and the key lookups
        assertThat(km.getCertificateChain(alias)).containsExactly(first.leaf());
        assertThat(km.getPrivateKey(alias)).isEqualTo(first.privateKey());

        String next = km.chooseEngineClientAlias(new String[] {"RSA", "EC"}, null, null);
        assertThat(km.getCertificateChain(next)).containsExactly(second.leaf());
        assertThat(km.chooseEngineServerAlias("RSA", null, null))
                .isNull(); // an EC key cannot serve an RSA suite
    }

    @Test
    void keyManagerWithoutSvidOffersNothing() {
        SpiffeKeyManager km = new SpiffeKeyManager(() -> null);
        assertThat(km.chooseEngineClientAlias(new String[] {"EC"}, null, null)).isNull();
        assertThat(km.getCertificateChain("svid-1")).isNull();
    }
}
