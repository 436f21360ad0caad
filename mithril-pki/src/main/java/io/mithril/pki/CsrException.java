package io.mithril.pki;

/**
 * A PKCS#10 certificate signing request that cannot be created or accepted: malformed DER, a
 * signature that does not verify, or subject alternative names that break the SPIFFE rules.
 */
public final class CsrException extends PkiException {
    private static final long serialVersionUID = 1L;

    public CsrException(String message) {
        super(message);
    }

    public CsrException(String message, Throwable cause) {
        super(message, cause);
    }
}
