package io.mithril.spiffe.bundle;

/**
 * A bundle could not be parsed or built: malformed PEM or DER, a malformed JWKS document, or a key
 * that cannot be represented. The message quotes the offending value and says where it is (block,
 * entry index, member name).
 */
public class BundleException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BundleException(String message) {
        super(message);
    }

    public BundleException(String message, Throwable cause) {
        super(message, cause);
    }
}
