package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Jwt bundles of several trust domains (the own trust domain plus federated ones), looked up by
 * trust domain. Immutable; "adding" returns a new set.
 *
 * @param bundles the bundles, keyed by their trust domain
 */
public record JwtBundleSet(Map<TrustDomain, JwtBundle> bundles) implements BundleSource<JwtBundle> {

    /**
     * @throws IllegalArgumentException if a bundle is filed under another trust domain than its own
     */
    public JwtBundleSet {
        bundles = BundleMaps.copyOf(bundles, JwtBundle::trustDomain);
    }

    /**
     * A set of these bundles.
     *
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    public static JwtBundleSet of(Collection<JwtBundle> bundles) {
        return new JwtBundleSet(BundleMaps.byTrustDomain(bundles, JwtBundle::trustDomain));
    }

    public static JwtBundleSet of(JwtBundle... bundles) {
        return of(List.of(bundles));
    }

    /** A new set with {@code bundle} added, replacing any bundle of the same trust domain. */
    public JwtBundleSet with(JwtBundle bundle) {
        return new JwtBundleSet(BundleMaps.with(bundles, bundle, JwtBundle::trustDomain));
    }

    public Optional<JwtBundle> find(TrustDomain trustDomain) {
        return Optional.ofNullable(bundles.get(trustDomain));
    }

    @Override
    public JwtBundle bundleFor(TrustDomain trustDomain) {
        return BundleMaps.bundleFor(bundles, trustDomain);
    }
}
