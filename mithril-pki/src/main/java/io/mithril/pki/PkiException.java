package io.mithril.pki;

/**
 * Base of the failures raised by {@code mithril-pki}. Unchecked, so callers may catch the specific
 * kind ({@link PemException}, {@link CsrException}, ...) where they can act on it and let the rest
 * reach the operator with its message intact.
 */
public class PkiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PkiException(String message) {
        super(message);
    }

    public PkiException(String message, Throwable cause) {
        super(message, cause);
    }
}
