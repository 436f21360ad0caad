package io.mithril.pki;

/**
 * A certificate could not be minted because of the issuer: it has expired or is not yet valid, or
 * its key refused to sign. Bad arguments (a non-positive TTL, an ID outside the issuer's trust
 * domain) are {@link IllegalArgumentException}s instead.
 */
public final class X509MintException extends PkiException {
    private static final long serialVersionUID = 1L;

    public X509MintException(String message) {
        super(message);
    }

    public X509MintException(String message, Throwable cause) {
        super(message, cause);
    }
}
