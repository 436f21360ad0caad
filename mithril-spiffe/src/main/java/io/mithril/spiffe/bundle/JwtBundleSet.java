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
 * Jwt bundles of several trust domains (the own trust domain plus federated ones), looked
 * up by trust domain. Immutable; "adding" returns a new set.
 *
 * @param bundles the bundles, keyed by their trust domain
 */
public record JwtBundleSet(Map<TrustDomain, JwtBundle> bundles) implements BundleSource<JwtBundle> {

    public JwtBundleSet {
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
    public static JwtBundleSet of(Collection<JwtBundle> bundles) {
        Map<TrustDomain, JwtBundle> map = new LinkedHashMap<>();
        for (JwtBundle b : bundles) {
            if (map.putIfAbsent(b.trustDomain(), b) != null) {
                throw new IllegalArgumentException("two bundles for trust domain \"" + b.trustDomain() + "\"");
            }
        }
        return new JwtBundleSet(map);
    }

    public static JwtBundleSet of(JwtBundle... bundles) {
        return of(List.of(bundles));
    }

    /** A new set with {@code bundle} added, replacing any bundle of the same trust domain. */
    public JwtBundleSet with(JwtBundle bundle) {
        Map<TrustDomain, JwtBundle> map = new LinkedHashMap<>(bundles);
        map.put(bundle.trustDomain(), bundle);
        return new JwtBundleSet(map);
    }

    public Optional<JwtBundle> find(TrustDomain trustDomain) {
        return Optional.ofNullable(bundles.get(trustDomain));
    }

    @Override
    public JwtBundle bundleFor(TrustDomain trustDomain) {
        JwtBundle b = bundles.get(trustDomain);
        if (b == null) {
            throw new BundleNotFoundException(trustDomain);
        }
        return b;
    }
}
