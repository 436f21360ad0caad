package io.mithril.pki;

/**
 * A PEM input (file or bytes) that cannot be read or does not hold what was asked for. The message
 * starts with the source (the file path, or "PEM input") and says what is wrong, e.g. {@code
 * /etc/ca.pem: no CERTIFICATE block found}.
 */
public final class PemException extends PkiException {
    private static final long serialVersionUID = 1L;

    public PemException(String message) {
        super(message);
    }

    public PemException(String message, Throwable cause) {
        super(message, cause);
    }
}
