package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * X509 bundles of several trust domains (the own trust domain plus federated ones), looked up by
 * trust domain. Immutable; "adding" returns a new set.
 *
 * @param bundles the bundles, keyed by their trust domain
 */
public record X509BundleSet(Map<TrustDomain, X509Bundle> bundles)
        implements BundleSource<X509Bundle> {

    /**
     * @throws IllegalArgumentException if a bundle is filed under another trust domain than its own
     */
    public X509BundleSet {
        bundles = BundleMaps.copyOf(bundles, X509Bundle::trustDomain);
    }

    /**
     * A set of these bundles.
     *
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    public static X509BundleSet of(Collection<X509Bundle> bundles) {
        return new X509BundleSet(BundleMaps.byTrustDomain(bundles, X509Bundle::trustDomain));
    }

    public static X509BundleSet of(X509Bundle... bundles) {
        return of(List.of(bundles));
    }

    /** A new set with {@code bundle} added, replacing any bundle of the same trust domain. */
    public X509BundleSet with(X509Bundle bundle) {
        return new X509BundleSet(BundleMaps.with(bundles, bundle, X509Bundle::trustDomain));
    }

    public Optional<X509Bundle> find(TrustDomain trustDomain) {
        return Optional.ofNullable(bundles.get(trustDomain));
    }

    @Override
    public X509Bundle bundleFor(TrustDomain trustDomain) {
        return BundleMaps.bundleFor(bundles, trustDomain);
    }
}
