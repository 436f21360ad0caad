package io.mithril.controlplane;

import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.testing.HeldCertificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/** A trust domain's CA, with SVIDs for tests built by the test kit's {@link HeldCertificate}. */
final class TestIdentities {

    static final SpiffeId ISTIOD = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/istiod");
    static final SpiffeId GATEWAY =
            SpiffeId.parse(
                    "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account");
    static final SpiffeId PRODUCTPAGE =
            SpiffeId.parse("spiffe://example.org/ns/default/sa/bookinfo-productpage");

    final TrustDomain trustDomain;
    final X509Certificate root;
    final HeldCertificate ca;

    TestIdentities(String trustDomain) {
        this.trustDomain = TrustDomain.parse(trustDomain);
        this.ca =
                HeldCertificate.builder()
                        .spiffeId(this.trustDomain.id())
                        .ca(0)
                        .validFor(Duration.ofHours(2))
                        .build();
        this.root = ca.certificate();
    }

    X509Bundle bundle() {
        return X509Bundle.of(trustDomain, List.of(root));
    }

    X509Svid svid(SpiffeId id) {
        return HeldCertificate.builder()
                .spiffeId(id)
                .validFor(Duration.ofHours(1))
                .signedBy(ca)
                .build()
                .x509Svid();
    }

    /** An identity holding an SVID of this trust domain and the given bundles. */
    IdentitySource identity(SpiffeId id, X509Bundle... bundles) {
        return IdentitySource.of(
                svid(id),
                X509BundleSet.of(bundles.length == 0 ? new X509Bundle[] {bundle()} : bundles));
    }
}
