package io.mithril.agent.attestor.workload;

/**
 * A selector: a property of a workload or node, as {@code type:value} ({@code unix:uid:1000} is
 * type {@code unix}, value {@code uid:1000}).
 */
public record Selector(String type, String value) {

    public Selector {
        if (type == null || type.isEmpty() || type.contains(":")) {
            throw new IllegalArgumentException(
                    "selector type \"" + type + "\" must be non-empty and contain no ':'");
        }
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("selector " + type + " has an empty value");
        }
    }

    /** A selector from {@code type:value} ({@code unix:uid:1000}). */
    public static Selector parse(String s) {
        int colon = s == null ? -1 : s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException(
                    "selector \"" + s + "\" must look like type:value (e.g. unix:uid:1000)");
        }
        return new Selector(s.substring(0, colon), s.substring(colon + 1));
    }

    @Override
    public String toString() {
        return type + ":" + value;
    }
}
