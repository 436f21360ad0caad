package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The map behind {@link X509BundleSet} and {@link JwtBundleSet}: bundles keyed by their own trust
 * domain, in insertion order, immutable.
 */
final class BundleMaps {
    private BundleMaps() {}

    /**
     * An unmodifiable copy of {@code bundles}.
     *
     * @throws IllegalArgumentException if a bundle is filed under another trust domain than its own
     */
    static <B> Map<TrustDomain, B> copyOf(
            Map<TrustDomain, B> bundles, Function<B, TrustDomain> trustDomainOf) {
        Objects.requireNonNull(bundles, "bundles");
        for (var e : bundles.entrySet()) {
            if (!e.getKey().equals(trustDomainOf.apply(e.getValue()))) {
                throw new IllegalArgumentException(
                        "bundle for \""
                                + trustDomainOf.apply(e.getValue())
                                + "\" is filed under trust domain \""
                                + e.getKey()
                                + "\"");
            }
        }
        return Collections.unmodifiableMap(new LinkedHashMap<>(bundles));
    }

    /**
     * {@code bundles} keyed by trust domain.
     *
     * @throws IllegalArgumentException if two bundles are for the same trust domain
     */
    static <B> Map<TrustDomain, B> byTrustDomain(
            Collection<B> bundles, Function<B, TrustDomain> trustDomainOf) {
        Map<TrustDomain, B> map = new LinkedHashMap<>();
        for (B b : bundles) {
            if (map.putIfAbsent(trustDomainOf.apply(b), b) != null) {
                throw new IllegalArgumentException(
                        "two bundles for trust domain \"" + trustDomainOf.apply(b) + "\"");
            }
        }
        return map;
    }

    /**
     * A copy of {@code bundles} with {@code bundle} added, replacing any bundle of the same trust
     * domain.
     */
    static <B> Map<TrustDomain, B> with(
            Map<TrustDomain, B> bundles, B bundle, Function<B, TrustDomain> trustDomainOf) {
        Map<TrustDomain, B> map = new LinkedHashMap<>(bundles);
        map.put(trustDomainOf.apply(bundle), bundle);
        return map;
    }

    /**
     * The bundle of {@code trustDomain}.
     *
     * @throws BundleNotFoundException if there is none
     */
    static <B> B bundleFor(Map<TrustDomain, B> bundles, TrustDomain trustDomain) {
        B b = bundles.get(trustDomain);
        if (b == null) {
            throw new BundleNotFoundException(trustDomain);
        }
        return b;
    }
}
