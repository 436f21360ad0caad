package io.mithril.controlplane;

import io.mithril.spiffe.id.SpiffeId;
import java.util.Objects;

/**
 * A proxy's workload identity as istiod reads it: a SPIFFE ID of Istio's form {@code
 * spiffe://<trust domain>/ns/<namespace>/sa/<service account>}. The namespace it names is the only
 * one whose configuration the proxy may ask for; any other SPIFFE ID of the trust domain (a node,
 * {@code /spire/server}, a free-form workload ID) names no namespace and is not a proxy identity.
 *
 * @param spiffeId the ID from the proxy's validated client certificate
 * @param namespace {@code <namespace>}
 * @param serviceAccount {@code <service account>}
 */
public record ProxyIdentity(SpiffeId spiffeId, String namespace, String serviceAccount) {

    public ProxyIdentity {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
    }

    /**
     * Reads the namespace and service account of {@code id}.
     *
     * @throws IllegalArgumentException if {@code id}'s path is not exactly {@code
     *     /ns/<namespace>/sa/<service account>}; the message says so
     */
    public static ProxyIdentity of(SpiffeId id) {
        Objects.requireNonNull(id, "id");
        // SpiffeId already refuses empty segments, "." and "..", so four segments are four names.
        String[] seg = id.path().split("/", -1);
        if (seg.length != 5 || !seg[0].isEmpty() || !seg[1].equals("ns") || !seg[3].equals("sa")) {
            throw new IllegalArgumentException(
                    "SPIFFE ID "
                            + id
                            + " is not a proxy identity: expected spiffe://"
                            + id.trustDomain()
                            + "/ns/<namespace>/sa/<service account>");
        }
        return new ProxyIdentity(id, seg[2], seg[4]);
    }
}
