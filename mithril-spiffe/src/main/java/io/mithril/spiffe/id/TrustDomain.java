package io.mithril.spiffe.id;

/**
 * A SPIFFE trust domain, such as {@code example.org}.
 *
 * <p>Valid names are non-empty, at most 255 bytes, and made of lowercase letters, digits, dots,
 * dashes and underscores. {@link #parse(String)} also accepts a SPIFFE ID and returns its trust
 * domain. Upper-case letters are refused, not folded to lowercase: go-spiffe and SPIRE refuse them
 * (java-spiffe 0.8.17 folds them), and a name that one side folds and the other refuses would make
 * two parties disagree about an identity.
 */
public record TrustDomain(String name) implements Comparable<TrustDomain> {

    /** Longest trust domain name, in bytes. */
    public static final int MAX_LENGTH = 255;

    public TrustDomain {
        validateName(name, name);
    }

    /**
     * Parses a trust domain name ({@code example.org}) or a SPIFFE ID, with or without a path
     * ({@code spiffe://example.org}, {@code spiffe://example.org/ns/a}), whose trust domain is
     * returned, as go-spiffe's {@code TrustDomainFromString} and java-spiffe's {@code
     * TrustDomain.parse} do. Input containing {@code ":/"} is parsed as a SPIFFE ID, so a bad
     * scheme ({@code spiffe:/example.org}, {@code http://example.org}) is reported as one.
     *
     * @throws InvalidSpiffeIdException naming the broken rule, for any invalid input
     */
    public static TrustDomain parse(String idOrName) {
        if (idOrName == null || idOrName.isEmpty()) {
            throw new InvalidSpiffeIdException(idOrName, "trust domain is missing");
        }
        if (idOrName.contains(":/")) {
            return SpiffeId.parse(idOrName).trustDomain();
        }
        if (idOrName.contains(":") || idOrName.contains("/")) {
            throw new InvalidSpiffeIdException(
                    idOrName,
                    "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores");
        }
        return new TrustDomain(idOrName);
    }

    /**
     * Parses what names a trust domain itself, as a federation relationship does ({@code
     * federates_with "domain.test"}): the name, or its SPIFFE ID {@code spiffe://domain.test}.
     * Unlike {@link #parse(String)}, a SPIFFE ID with a path ({@code spiffe://domain.test/path}) is
     * refused: a path says a workload, not a trust domain, and taking only its trust domain would
     * silently federate with something other than what was written.
     *
     * @throws InvalidSpiffeIdException naming the broken rule
     */
    public static TrustDomain parseName(String nameOrId) {
        TrustDomain td = parse(nameOrId);
        if (nameOrId.contains(":/") && !nameOrId.equals(td.idString())) {
            throw new InvalidSpiffeIdException(
                    nameOrId,
                    "a trust domain has no path; write \""
                            + td.name()
                            + "\" or \""
                            + td.idString()
                            + "\"");
        }
        return td;
    }

    /** Alias of {@link #parse(String)}, in the style of java-spiffe. */
    public static TrustDomain of(String nameOrId) {
        return parse(nameOrId);
    }

    /** The trust domain's own SPIFFE ID, {@code spiffe://<name>}. */
    public SpiffeId id() {
        return new SpiffeId(this, "");
    }

    /** {@code spiffe://<name>} as a string, the key used by bundle maps on the Workload API. */
    public String idString() {
        return SpiffeId.SCHEME_PREFIX + name;
    }

    /** A SPIFFE ID in this trust domain with the given path (which must start with '/'). */
    public SpiffeId spiffeId(String path) {
        return SpiffeId.of(this, path);
    }

    @Override
    public int compareTo(TrustDomain o) {
        return name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return name;
    }

    static void validateName(String name, String input) {
        if (name == null || name.isEmpty()) {
            throw new InvalidSpiffeIdException(input, "trust domain is missing");
        }
        if (name.length() > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(
                    input, "trust domain is longer than " + MAX_LENGTH + " bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (!isTrustDomainChar(c)) {
                if (c == '%') {
                    throw new InvalidSpiffeIdException(
                            input, "trust domain must not be percent-encoded");
                }
                String hint = c >= 'A' && c <= 'Z' ? "; write it in lowercase" : "";
                throw new InvalidSpiffeIdException(
                        input,
                        "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores"
                                + " (found '"
                                + printable(c)
                                + "' at index "
                                + i
                                + ")"
                                + hint);
            }
        }
    }

    static boolean isTrustDomainChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    }

    static String printable(char c) {
        return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
}
