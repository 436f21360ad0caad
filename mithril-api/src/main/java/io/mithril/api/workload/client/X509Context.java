package io.mithril.api.workload.client;

import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One message of the Workload API's X.509 stream: the caller's X509-SVIDs (the first is the
 * default), each with its private key and its trust domain's bundle, plus the bundles of the
 * federated trust domains. Immutable.
 *
 * @param svids the SVIDs, never empty
 * @param federatedBundles root certificates of foreign trust domains, keyed by trust domain
 */
public record X509Context(
        List<Svid> svids, Map<TrustDomain, List<X509Certificate>> federatedBundles) {

    public X509Context {
        svids = List.copyOf(svids);
        federatedBundles = Map.copyOf(federatedBundles);
        if (svids.isEmpty()) {
            throw new IllegalArgumentException("an X.509 context has at least one SVID");
        }
    }

    /** The default SVID (the first one the agent sent). */
    public Svid defaultSvid() {
        return svids.get(0);
    }

    /** Every bundle: the SVIDs' own trust domains and the federated ones. */
    public Map<TrustDomain, List<X509Certificate>> bundles() {
        Map<TrustDomain, List<X509Certificate>> all = new LinkedHashMap<>(federatedBundles);
        for (Svid svid : svids) {
            all.put(svid.spiffeId().trustDomain(), svid.bundle());
        }
        return Map.copyOf(all);
    }

    /**
     * An X509-SVID with its key.
     *
     * @param spiffeId the SVID's SPIFFE ID
     * @param chain the leaf first, then intermediates
     * @param privateKey the leaf's private key
     * @param bundle the root certificates of the SVID's trust domain
     * @param hint the operator's hint, possibly empty
     */
    public record Svid(
            SpiffeId spiffeId,
            List<X509Certificate> chain,
            PrivateKey privateKey,
            List<X509Certificate> bundle,
            String hint) {
        public Svid {
            chain = List.copyOf(chain);
            bundle = List.copyOf(bundle);
            hint = hint == null ? "" : hint;
            if (chain.isEmpty()) {
                throw new IllegalArgumentException(
                        "SVID " + spiffeId + " has an empty certificate chain");
            }
        }

        /** The leaf certificate. */
        public X509Certificate leaf() {
            return chain.get(0);
        }

        /** The intermediates (the chain after the leaf). */
        public List<X509Certificate> intermediates() {
            return chain.subList(1, chain.size());
        }
    }
}
