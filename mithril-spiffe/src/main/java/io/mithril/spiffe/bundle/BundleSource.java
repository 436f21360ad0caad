package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;

/**
 * Where validators look up the bundle of a trust domain: a single bundle, a set of bundles (own
 * trust domain plus federated ones), or a live view kept current by the Workload API.
 *
 * @param <T> the kind of bundle, {@link X509Bundle} or {@link JwtBundle}
 */
@FunctionalInterface
public interface BundleSource<T> {

    /**
     * The bundle for {@code trustDomain}.
     *
     * @throws BundleNotFoundException if this source has none for that trust domain
     */
    T bundleFor(TrustDomain trustDomain);
}
