package io.mithril.spiffe.svid;

/**
 * An X509-SVID is malformed or does not validate: unparseable chain or key, a leaf or signing
 * certificate that breaks the X509-SVID rules, a key that does not match the leaf, or a chain that
 * does not verify against the trust domain's bundle. The message names the certificate (by position
 * and subject) and the rule.
 */
public class X509SvidException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public X509SvidException(String message) {
        super(message);
    }

    public X509SvidException(String message, Throwable cause) {
        super(message, cause);
    }
}
