package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * X509 bundles of several trust domains (the own trust domain plus federated ones), looked
 * up by trust domain. Immutable; "adding" returns a new set.
 *
 * @param bundles the bundles, keyed by their trust domain
 */
public record X509BundleSet(Map<TrustDomain, X509Bundle> bundles) implements BundleSource<X509Bundle> {

    public X509BundleSet {
        Objects.requireNonNull(bundles, "bundles");
        for (var e : bundles.entrySet()) {
            if (!e.getKey().equals(e.getValue().trustDomain())) {
                throw new IllegalArgumentException("bundle for \"" + e.getValue().trustDomain()
                        + "\" is filed under trust domain \"" + e.getKey() + "\"");
            }
        }
        bundles = Collections.unmodifiableMap(new LinkedHashMap<>(bundles));
    }

    /**
     * A set of these bundles.
     *
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    public static X509BundleSet of(Collection<X509Bundle> bundles) {
        Map<TrustDomain, X509Bundle> map = new LinkedHashMap<>();
        for (X509Bundle b : bundles) {
            if (map.putIfAbsent(b.trustDomain(), b) != null) {
                throw new IllegalArgumentException("two bundles for trust domain \"" + b.trustDomain() + "\"");
            }
        }
        return new X509BundleSet(map);
    }

    public static X509BundleSet of(X509Bundle... bundles) {
        return of(List.of(bundles));
    }

    /** A new set with {@code bundle} added, replacing any bundle of the same trust domain. */
    public X509BundleSet with(X509Bundle bundle) {
        Map<TrustDomain, X509Bundle> map = new LinkedHashMap<>(bundles);
        map.put(bundle.trustDomain(), bundle);
        return new X509BundleSet(map);
    }

    public Optional<X509Bundle> find(TrustDomain trustDomain) {
        return Optional.ofNullable(bundles.get(trustDomain));
    }

    @Override
    public X509Bundle bundleFor(TrustDomain trustDomain) {
        X509Bundle b = bundles.get(trustDomain);
        if (b == null) {
            throw new BundleNotFoundException(trustDomain);
        }
        return b;
    }
}
