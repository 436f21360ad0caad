package io.mithril.spiffe.tls;

import java.security.cert.CertificateException;
import java.util.Objects;

/**
 * A peer's certificate chain was refused by {@link SpiffeTrustManager}. The {@link #reason()} says
 * which TLS alert fits it, so a TLS engine can tell the peer precisely why (unknown_ca for a chain
 * from another root, certificate_expired, bad_certificate for a chain that is not an X509-SVID or
 * an ID that is not allowed) instead of a generic internal_error.
 */
public final class SvidRejectedException extends CertificateException {
    private static final long serialVersionUID = 1L;

    /** Why the chain was refused. */
    public enum Reason {
        /** The peer sent no certificate. */
        NO_CERTIFICATE,
        /**
         * The chain does not lead to an authority of the bundle of the peer's trust domain, or
         * there is no such bundle.
         */
        UNKNOWN_AUTHORITY,
        /** A certificate of the chain (or its authority) has expired. */
        EXPIRED,
        /** A certificate of the chain (or its authority) is not valid yet. */
        NOT_YET_VALID,
        /**
         * The chain is not an X509-SVID (no or several URI SANs, a CA leaf, a bad key usage, ...).
         */
        BAD_CERTIFICATE,
        /** A valid X509-SVID whose SPIFFE ID is not allowed here. */
        NOT_AUTHORIZED
    }

    private final Reason reason;

    public SvidRejectedException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
