package io.mithril.controlplane;

import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/** A trust domain's CA, minting SVIDs for tests with the pki module. */
final class TestIdentities {

    static final SpiffeId ISTIOD = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/istiod");
    static final SpiffeId GATEWAY =
            SpiffeId.parse(
                    "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account");
    static final SpiffeId PRODUCTPAGE =
            SpiffeId.parse("spiffe://example.org/ns/default/sa/bookinfo-productpage");

    final TrustDomain trustDomain;
    final X509Certificate root;
    final SigningAuthority ca;
    final X509Minter minter = new X509Minter(Clock.systemUTC());

    TestIdentities(String trustDomain) {
        this.trustDomain = TrustDomain.parse(trustDomain);
        KeyPair key = KeyType.EC_P256.generate();
        this.root = minter.selfSignedCa(key, this.trustDomain, Duration.ofHours(2), null);
        this.ca = SigningAuthority.of(root, key.getPrivate());
    }

    X509Bundle bundle() {
        return X509Bundle.of(trustDomain, List.of(root));
    }

    X509Svid svid(SpiffeId id) {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(ca, key.getPublic(), id, List.of(), Duration.ofHours(1));
        return X509Svid.of(List.of(leaf), key.getPrivate());
    }

    /** An identity holding an SVID of this trust domain and the given bundles. */
    IdentitySource identity(SpiffeId id, X509Bundle... bundles) {
        return IdentitySource.of(
                svid(id),
                X509BundleSet.of(bundles.length == 0 ? new X509Bundle[] {bundle()} : bundles));
    }
}
