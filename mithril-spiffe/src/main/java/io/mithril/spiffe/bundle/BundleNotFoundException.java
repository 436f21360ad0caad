package io.mithril.spiffe.bundle;

import io.mithril.spiffe.id.TrustDomain;

/** A {@link BundleSource} holds no bundle for the trust domain asked for. */
public class BundleNotFoundException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final TrustDomain trustDomain;

    public BundleNotFoundException(TrustDomain trustDomain) {
        super("no bundle for trust domain \"" + trustDomain + "\"");
        this.trustDomain = trustDomain;
    }

    /** The trust domain that has no bundle. */
    public TrustDomain trustDomain() {
        return trustDomain;
    }
}
