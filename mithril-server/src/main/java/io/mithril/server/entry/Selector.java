package io.mithril.server.entry;

import java.util.Objects;

/**
 * A selector, {@code type:value}, such as {@code unix:uid:1000} (type {@code unix}, value
 * {@code uid:1000}) or {@code x509pop:subject:cn:node-1}. Both parts are non-empty; the type has
 * no colon.
 */
public record Selector(String type, String value) implements Comparable<Selector> {

    public Selector {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type.isEmpty() || type.indexOf(':') >= 0) {
            throw new InvalidEntryException("selector type \"" + type + "\" must be non-empty and contain no ':'");
        }
        if (value.isEmpty()) {
            throw new InvalidEntryException("selector \"" + type + ":\" has an empty value: write type:value, e.g. unix:uid:1000");
        }
    }

    /**
     * Parses {@code type:value}.
     *
     * @throws InvalidEntryException quoting the input when it has no colon or an empty part
     */
    public static Selector parse(String s) {
        int colon = s == null ? -1 : s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new InvalidEntryException("selector \"" + s + "\" is not of the form type:value (e.g. unix:uid:1000)");
        }
        return new Selector(s.substring(0, colon), s.substring(colon + 1));
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
