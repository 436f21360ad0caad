package io.mithril.api.selector;

import java.util.Objects;

/**
 * A selector, {@code type:value}, such as {@code unix:uid:1000} (type {@code unix}, value {@code
 * uid:1000}) or {@code x509pop:subject:cn:node-1}. Both parts are non-empty; the type has no colon.
 * The type is at most {@value #MAX_TYPE_LENGTH} characters and the value at most {@value
 * #MAX_VALUE_LENGTH} (room for a full path, PATH_MAX): a selector is matched against what an
 * attestor reports, so a longer one can never match and only bloats the datastore and every agent's
 * sync.
 *
 * <p>One type for the server (entries, node selectors) and the agent (what workload attestors
 * report). The server turns the {@link IllegalArgumentException} of a malformed selector into its
 * entry error.
 */
public record Selector(String type, String value) implements Comparable<Selector> {

    public static final int MAX_TYPE_LENGTH = 255;
    public static final int MAX_VALUE_LENGTH = 4096;

    public Selector {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type.isEmpty() || type.indexOf(':') >= 0) {
            throw new IllegalArgumentException(
                    "selector type \"" + type + "\" must be non-empty and contain no ':'");
        }
        if (value.isEmpty()) {
            throw new IllegalArgumentException(
                    "selector \""
                            + type
                            + ":\" has an empty value: write type:value, e.g. unix:uid:1000");
        }
        if (type.length() > MAX_TYPE_LENGTH || value.length() > MAX_VALUE_LENGTH) {
            throw new IllegalArgumentException(
                    "selector \""
                            + abbreviate(type + ":" + value)
                            + "\" is too long (type "
                            + type.length()
                            + " characters, value "
                            + value.length()
                            + "): at most "
                            + MAX_TYPE_LENGTH
                            + " and "
                            + MAX_VALUE_LENGTH);
        }
    }

    /**
     * Parses {@code type:value}.
     *
     * @throws IllegalArgumentException quoting the input when it has no colon or an empty part
     */
    public static Selector parse(String s) {
        int colon = s == null ? -1 : s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException(
                    "selector \"" + s + "\" is not of the form type:value (e.g. unix:uid:1000)");
        }
        return new Selector(s.substring(0, colon), s.substring(colon + 1));
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 40) + "...";
    }

    @Override
    public int compareTo(Selector o) {
        int c = type.compareTo(o.type);
        return c != 0 ? c : value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return type + ":" + value;
    }
}
