package io.mithril.pki;

/**
 * The crypto provider could not do what was asked (an algorithm it lacks, a key it refuses, a
 * forced provider that does not load). Usually a configuration or platform problem, not bad input.
 */
public final class CryptoException extends PkiException {
    private static final long serialVersionUID = 1L;

    public CryptoException(String message) {
        super(message);
    }

    public CryptoException(String message, Throwable cause) {
        super(message, cause);
    }
}
