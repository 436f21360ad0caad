package io.mithril.spiffe.svid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.TestCerts;
import io.mithril.spiffe.testing.TestCerts.Issued;
import io.mithril.spiffe.testing.TestCerts.Spec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;

class X509SvidValidatorTest {
    static final TrustDomain EXAMPLE = TrustDomain.of("example.org");
    static final TrustDomain DOMAIN_TEST = TrustDomain.of("domain.test");
    static final String ID = "spiffe://example.org/ns/default/sa/sleep";
    static final Issued ROOT = TestCerts.root("Upstream CA");
    static final Issued INTERMEDIATE =
            ROOT.issue(Spec.ca("Server CA cluster 1", "spiffe://example.org"));
    static final X509Bundle BUNDLE = X509Bundle.of(EXAMPLE, List.of(ROOT.cert()));

    static List<java.security.cert.X509Certificate> chain(Spec leafSpec) {
        return List.of(INTERMEDIATE.issue(leafSpec).cert(), INTERMEDIATE.cert());
    }

    @Test
    void leafAndIntermediateVerifyToTheLeafSpiffeId() {
        assertThat(X509SvidValidator.verify(chain(Spec.leaf(ID)), BUNDLE))
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void leafSignedDirectlyByTheRootVerifies() {
        assertThat(X509SvidValidator.verify(List.of(ROOT.issue(Spec.leaf(ID)).cert()), BUNDLE))
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void chainThatAlsoCarriesTheRootVerifies() {
        Issued leaf = INTERMEDIATE.issue(Spec.leaf(ID));
        assertThat(
                        X509SvidValidator.verify(
                                List.of(leaf.cert(), INTERMEDIATE.cert(), ROOT.cert()), BUNDLE))
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void sha1SignedRootInTheBundleIsTrustedButItsSha1SignedLeafIsNot() {
        // A root's self-signature is never relied on (Go does not check it either); the signatures
        // below it are.
        Spec rootSpec = Spec.ca("SHA-1 root", "spiffe://example.org");
        rootSpec.sigAlg = "SHA1withRSA";
        Issued sha1Root = TestCerts.selfSigned(rootSpec, TestCerts.rsa(2048));
        X509Bundle bundle = X509Bundle.of(EXAMPLE, List.of(sha1Root.cert()));
        Issued leaf = sha1Root.issue(Spec.leaf(ID));
        assertThat(X509SvidValidator.verify(List.of(leaf.cert(), sha1Root.cert()), bundle))
                .isEqualTo(SpiffeId.parse(ID));

        Issued sha1Leaf = sha1Root.issue(Spec.leaf(ID), TestCerts.ec256(), "SHA1withRSA");
        assertThatThrownBy(() -> X509SvidValidator.verify(List.of(sha1Leaf.cert()), bundle))
                .isInstanceOf(X509SvidException.class)
                .hasMessageStartingWith(
                        "certificate chain of \""
                                + ID
                                + "\" is refused: leaf certificate (subject \"CN=test,O=Mithril test\")"
                                + " is signed with SHA1withRSA");
    }

    @Test
    void anRsa1024TrustAnchorIsRefusedSinceAnyoneCouldForgeItsSignatures() {
        Issued weakRoot = TestCerts.root("Weak root", TestCerts.rsa(1024), "spiffe://example.org");
        assertThatThrownBy(
                        () ->
                                X509SvidValidator.verify(
                                        List.of(weakRoot.issue(Spec.leaf(ID)).cert()),
                                        X509Bundle.of(EXAMPLE, List.of(weakRoot.cert()))))
                .isInstanceOf(X509SvidException.class)
                .hasMessage(
                        "certificate chain of \""
                                + ID
                                + "\" is refused: trust anchor (subject \"CN=Weak root,O=Mithril test\")"
                                + " has an RSA key of 1024 bits: RSA keys under 2048 bits are refused");
    }

    @Test
    void rootSentAlongIsJudgedByTheBundleNotByTheSigningRules() {
        // An old-style root without keyUsage: PKIX trusts it as an anchor, and so do we.
        Spec rootSpec = Spec.ca("Legacy root");
        rootSpec.keyUsage = null;
        java.security.KeyPair keys = TestCerts.ec256();
        Issued legacy =
                new Issued(
                        TestCerts.issue(rootSpec, keys.getPublic(), null, keys.getPrivate()), keys);
        Issued leaf = legacy.issue(Spec.leaf(ID));
        assertThat(
                        X509SvidValidator.verify(
                                List.of(leaf.cert(), legacy.cert()),
                                X509Bundle.of(EXAMPLE, List.of(legacy.cert()))))
                .isEqualTo(SpiffeId.parse(ID));
    }

    @Test
    void svidsFromTwoServersWithTheSameUpstreamRootBothVerify() {
        Issued second = ROOT.issue(Spec.ca("Server CA cluster 2", "spiffe://example.org"));
        Issued a = INTERMEDIATE.issue(Spec.leaf("spiffe://example.org/ns/a/sa/a"));
        Issued b = second.issue(Spec.leaf("spiffe://example.org/ns/b/sa/b"));
        assertThat(X509SvidValidator.verify(List.of(a.cert(), INTERMEDIATE.cert()), BUNDLE).path())
                .isEqualTo("/ns/a/sa/a");
        assertThat(X509SvidValidator.verify(List.of(b.cert(), second.cert()), BUNDLE).path())
                .isEqualTo("/ns/b/sa/b");
    }

    @Test
    void chainFromAnUntrustedRootIsRejected() {
        Issued otherRoot = TestCerts.root("Upstream CA"); // same name, other key
        Issued leaf = otherRoot.issue(Spec.leaf(ID));
        assertThatThrownBy(() -> X509SvidValidator.verify(List.of(leaf.cert()), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining(
                        "does not verify against the bundle of trust domain \"example.org\"");
    }

    @Test
    void chainMissingItsIntermediateIsRejected() {
        Issued leaf = INTERMEDIATE.issue(Spec.leaf(ID));
        assertThatThrownBy(() -> X509SvidValidator.verify(List.of(leaf.cert()), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("does not verify");
    }

    @Test
    void leafOfATrustDomainWithoutBundleThrowsBundleNotFound() {
        X509BundleSet onlyOther =
                X509BundleSet.of(X509Bundle.of(DOMAIN_TEST, List.of(ROOT.cert())));
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(Spec.leaf(ID)), onlyOther))
                .isInstanceOf(BundleNotFoundException.class)
                .hasMessageContaining("example.org");
    }

    @Test
    void leafIsValidatedAgainstTheBundleOfItsOwnTrustDomainOnly() {
        // domain.test's CA mints an SVID that claims to be in example.org: example.org's bundle
        // must judge it.
        Issued foreignRoot = TestCerts.root("domain.test root");
        Issued forged = foreignRoot.issue(Spec.leaf(ID));
        X509BundleSet federation =
                X509BundleSet.of(BUNDLE, X509Bundle.of(DOMAIN_TEST, List.of(foreignRoot.cert())));
        assertThatThrownBy(() -> X509SvidValidator.verify(List.of(forged.cert()), federation))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("\"example.org\"");
        Issued genuine = foreignRoot.issue(Spec.leaf("spiffe://domain.test/ns/x/sa/y"));
        assertThat(X509SvidValidator.verify(List.of(genuine.cert()), federation).trustDomain())
                .isEqualTo(DOMAIN_TEST);
    }

    @Test
    void expiredLeafIsRejected() {
        Clock later = Clock.fixed(Instant.now().plus(Duration.ofHours(2)), ZoneOffset.UTC);
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(Spec.leaf(ID)), BUNDLE, later))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("leaf certificate");
    }

    @Test
    void expiredRootIsNotTrusted() {
        Spec spec = Spec.ca("Expired root");
        spec.notBefore = Instant.now().minus(Duration.ofDays(2));
        spec.notAfter = Instant.now().minus(Duration.ofMinutes(1));
        java.security.KeyPair keys = TestCerts.ec256();
        Issued expired =
                new Issued(TestCerts.issue(spec, keys.getPublic(), null, keys.getPrivate()), keys);
        Issued leaf = expired.issue(Spec.leaf(ID));
        assertThatThrownBy(
                        () ->
                                X509SvidValidator.verify(
                                        List.of(leaf.cert()),
                                        X509Bundle.of(EXAMPLE, List.of(expired.cert()))))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("CN=Expired root")
                .hasMessageContaining("not valid at");
    }

    @Test
    void notYetValidLeafIsRejected() {
        Clock earlier = Clock.fixed(Instant.now().minus(Duration.ofHours(2)), ZoneOffset.UTC);
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(Spec.leaf(ID)), BUNDLE, earlier))
                .isInstanceOf(X509SvidException.class);
    }

    @Test
    void leafWithTwoUriSansIsRejectedEvenThoughTheChainIsValid() {
        Spec spec = Spec.leaf(ID);
        spec.uris.add("spiffe://example.org/admin");
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(spec), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("has 2 URI SANs");
    }

    @Test
    void leafWithoutSpiffeIdIsRejected() {
        Spec spec = Spec.leaf(ID);
        spec.uris.clear();
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(spec), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("no URI SAN");
    }

    @Test
    void leafWithRootSpiffeIdIsRejected() {
        assertThatThrownBy(
                        () ->
                                X509SvidValidator.verify(
                                        chain(Spec.leaf("spiffe://example.org")), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("non-root path");
    }

    @Test
    void caLeafIsRejected() {
        Spec spec = Spec.leaf(ID);
        spec.ca = true;
        spec.keyUsage = KeyUsage.digitalSignature;
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(spec), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("CA=true");
    }

    @Test
    void leafWithKeyCertSignIsRejected() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = KeyUsage.digitalSignature | KeyUsage.keyCertSign;
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(spec), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("keyCertSign");
    }

    @Test
    void leafWithoutDigitalSignatureIsRejected() {
        Spec spec = Spec.leaf(ID);
        spec.keyUsage = KeyUsage.keyAgreement;
        assertThatThrownBy(() -> X509SvidValidator.verify(chain(spec), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("digitalSignature");
    }

    @Test
    void intermediateThatIsNotACaIsRejected() {
        Spec notCa = Spec.ca("Rogue");
        notCa.ca = false;
        notCa.keyUsage = KeyUsage.digitalSignature | KeyUsage.keyCertSign;
        Issued rogue = ROOT.issue(notCa);
        Issued leaf = rogue.issue(Spec.leaf(ID));
        assertThatThrownBy(
                        () -> X509SvidValidator.verify(List.of(leaf.cert(), rogue.cert()), BUNDLE))
                .isInstanceOf(X509SvidException.class);
    }

    @Test
    void intermediateWithPathSpiffeIdIsRejected() {
        Issued pathy = ROOT.issue(Spec.ca("Pathy", "spiffe://example.org/ca"));
        Issued leaf = pathy.issue(Spec.leaf(ID));
        assertThatThrownBy(
                        () -> X509SvidValidator.verify(List.of(leaf.cert(), pathy.cert()), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("has a path");
    }

    @Test
    void emptyBundleTrustsNothing() {
        assertThatThrownBy(
                        () ->
                                X509SvidValidator.verify(
                                        chain(Spec.leaf(ID)), X509Bundle.empty(EXAMPLE)))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("trusts nothing");
    }

    @Test
    void emptyChainIsRejected() {
        assertThatThrownBy(() -> X509SvidValidator.verify(List.of(), BUNDLE))
                .isInstanceOf(X509SvidException.class)
                .hasMessageContaining("empty");
    }

    @Test
    void rsaChainVerifies() {
        Issued rsaRoot = TestCerts.root("RSA root", TestCerts.rsa(2048));
        Issued leaf = rsaRoot.issue(Spec.leaf(ID), TestCerts.rsa(2048));
        assertThat(
                        X509SvidValidator.verify(
                                List.of(leaf.cert()),
                                X509Bundle.of(EXAMPLE, List.of(rsaRoot.cert()))))
                .isEqualTo(SpiffeId.parse(ID));
    }
}
