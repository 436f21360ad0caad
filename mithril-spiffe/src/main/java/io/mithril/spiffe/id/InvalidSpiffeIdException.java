package io.mithril.spiffe.id;

/**
 * Thrown when a string is not a valid SPIFFE ID or trust domain name. The message names the rule of
 * the SPIFFE ID specification that was broken and quotes the offending value.
 */
public final class InvalidSpiffeIdException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String value;

    public InvalidSpiffeIdException(String value, String rule) {
        super(quote(value) + ": " + rule);
        this.value = value;
    }

    /** The rejected input, verbatim. */
    public String value() {
        return value;
    }

    static String quote(String value) {
        if (value == null) {
            return "null";
        }
        String shown =
                value.length() > 120
                        ? value.substring(0, 120) + "...(" + value.length() + " chars)"
                        : value;
        return "\"" + shown + "\"";
    }
}
