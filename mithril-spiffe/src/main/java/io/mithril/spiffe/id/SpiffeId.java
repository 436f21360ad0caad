package io.mithril.spiffe.id;

import java.nio.charset.StandardCharsets;

/**
 * A SPIFFE ID: {@code spiffe://<trust-domain>/<path>}.
 *
 * <p>Parsing enforces every rule of the SPIFFE ID specification: the scheme is {@code spiffe} in
 * lowercase, the trust domain is a valid {@link TrustDomain} (lowercase too: upper-case input is
 * refused, not folded, as go-spiffe, java-spiffe and SPIRE refuse it, so that an ID this library
 * accepts is accepted everywhere), there is no userinfo, port, query or fragment, path segments are
 * non-empty, are not {@code .} or {@code ..}, and use only letters, digits, dots, dashes and
 * underscores, there is no trailing slash and no percent-encoding. The path is case-sensitive. The
 * whole ID is at most {@value #MAX_LENGTH} bytes.
 *
 * @param trustDomain the trust domain
 * @param path the path, either empty (the trust domain's own ID) or starting with '/'
 */
public record SpiffeId(TrustDomain trustDomain, String path) implements Comparable<SpiffeId> {

    /** The scheme and separator every SPIFFE ID starts with. */
    public static final String SCHEME_PREFIX = "spiffe://";

    /** Longest SPIFFE ID supported, in bytes. */
    public static final int MAX_LENGTH = 2048;

    public SpiffeId {
        if (trustDomain == null) {
            throw new InvalidSpiffeIdException(null, "trust domain is missing");
        }
        if (path == null) {
            path = "";
        }
        String whole = SCHEME_PREFIX + trustDomain.name() + path;
        validatePath(path, whole);
        // Path characters are ASCII once validated, so the length in chars is the length in bytes.
        if (whole.length() > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(
                    whole, "SPIFFE ID is longer than " + MAX_LENGTH + " bytes");
        }
    }

    /**
     * Parses a SPIFFE ID.
     *
     * @throws InvalidSpiffeIdException naming the broken rule and quoting the input
     */
    public static SpiffeId parse(String id) {
        if (id == null || id.isEmpty()) {
            throw new InvalidSpiffeIdException(id, "SPIFFE ID is empty");
        }
        if (id.getBytes(StandardCharsets.UTF_8).length > MAX_LENGTH) {
            throw new InvalidSpiffeIdException(
                    id, "SPIFFE ID is longer than " + MAX_LENGTH + " bytes");
        }
        // ASCII-only case folding: String.regionMatches(ignoreCase) would also fold 'ſ' (U+017F)
        // to 's' and 'ı' (U+0131) to 'i', accepting look-alike schemes.
        if (hasSchemePrefix(id) && !id.startsWith(SCHEME_PREFIX)) {
            throw new InvalidSpiffeIdException(
                    id,
                    "scheme must be lowercase \"spiffe://\" (found \""
                            + id.substring(0, SCHEME_PREFIX.length())
                            + "\")");
        }
        if (!hasSchemePrefix(id)) {
            int colon = id.indexOf(':');
            if (colon > 0
                    && id.substring(0, colon).chars().allMatch(Character::isLetterOrDigit)
                    && !id.substring(0, colon).equalsIgnoreCase("spiffe")) {
                throw new InvalidSpiffeIdException(
                        id, "scheme must be \"spiffe\" (found \"" + id.substring(0, colon) + "\")");
            }
            throw new InvalidSpiffeIdException(
                    id, "scheme is missing or invalid: a SPIFFE ID starts with \"spiffe://\"");
        }
        String rest = id.substring(SCHEME_PREFIX.length());
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : rest.substring(slash);

        if (authority.isEmpty()) {
            throw new InvalidSpiffeIdException(id, "trust domain is missing");
        }
        if (authority.indexOf('@') >= 0) {
            throw new InvalidSpiffeIdException(id, "SPIFFE ID must not contain userinfo");
        }
        if (authority.indexOf(':') >= 0) {
            throw new InvalidSpiffeIdException(id, "SPIFFE ID must not contain a port");
        }
        int query = indexOfAny(id, SCHEME_PREFIX.length(), '?');
        if (query >= 0) {
            throw new InvalidSpiffeIdException(id, "SPIFFE ID must not contain a query");
        }
        int fragment = indexOfAny(id, SCHEME_PREFIX.length(), '#');
        if (fragment >= 0) {
            throw new InvalidSpiffeIdException(id, "SPIFFE ID must not contain a fragment");
        }
        TrustDomain.validateName(authority, id);
        validatePath(path, id);
        return new SpiffeId(new TrustDomain(authority), path);
    }

    /** Alias of {@link #parse(String)}. */
    public static SpiffeId of(String id) {
        return parse(id);
    }

    /**
     * A SPIFFE ID from a trust domain and a path. The path must be empty or start with '/', and
     * follow the segment rules.
     */
    public static SpiffeId of(TrustDomain trustDomain, String path) {
        return new SpiffeId(trustDomain, path);
    }

    /** Whether the string is a valid SPIFFE ID. */
    public static boolean isValid(String id) {
        try {
            parse(id);
            return true;
        } catch (InvalidSpiffeIdException e) {
            return false;
        }
    }

    /** Whether this is a trust domain's own ID, without a path. */
    public boolean isTrustDomainId() {
        return path.isEmpty();
    }

    /** Whether this ID is in the given trust domain. */
    public boolean memberOf(TrustDomain td) {
        return trustDomain.equals(td);
    }

    @Override
    public int compareTo(SpiffeId o) {
        return toString().compareTo(o.toString());
    }

    @Override
    public String toString() {
        return SCHEME_PREFIX + trustDomain.name() + path;
    }

    /**
     * Whether {@code s} starts with {@code spiffe://}, comparing ASCII letters case-insensitively.
     */
    static boolean hasSchemePrefix(String s) {
        if (s.length() < SCHEME_PREFIX.length()) {
            return false;
        }
        for (int i = 0; i < SCHEME_PREFIX.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c + ('a' - 'A'));
            }
            if (c != SCHEME_PREFIX.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int indexOfAny(String s, int from, char c) {
        return s.indexOf(c, from);
    }

    static void validatePath(String path, String input) {
        if (path.isEmpty()) {
            return;
        }
        if (path.charAt(0) != '/') {
            throw new InvalidSpiffeIdException(input, "path must start with '/'");
        }
        int segmentStart = 1;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                String segment = path.substring(segmentStart, i);
                if (segment.isEmpty()) {
                    if (i == path.length()) {
                        throw new InvalidSpiffeIdException(
                                input, "path must not have a trailing slash");
                    }
                    throw new InvalidSpiffeIdException(
                            input, "path must not contain empty segments");
                }
                if (segment.equals(".") || segment.equals("..")) {
                    throw new InvalidSpiffeIdException(
                            input, "path must not contain dot segments ('.' or '..')");
                }
                segmentStart = i + 1;
                continue;
            }
            char c = path.charAt(i);
            if (!isPathChar(c)) {
                if (c == '%') {
                    throw new InvalidSpiffeIdException(input, "path must not be percent-encoded");
                }
                throw new InvalidSpiffeIdException(
                        input,
                        "path segment characters are limited to letters, numbers, dots, dashes, and underscores"
                                + " (found '"
                                + TrustDomain.printable(c)
                                + "')");
            }
        }
    }

    static boolean isPathChar(char c) {
        return (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '.'
                || c == '-'
                || c == '_';
    }
}
