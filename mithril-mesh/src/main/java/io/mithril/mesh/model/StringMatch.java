package io.mithril.mesh.model;

import java.util.regex.Pattern;

/**
 * Istio's {@code StringMatch}: exactly one of {@code exact}, {@code prefix} or {@code regex} (RE2
 * syntax in Istio; Java's regex here, matched against the whole value as Envoy's {@code safe_regex}
 * does).
 */
public sealed interface StringMatch {

    /**
     * Whether {@code value} matches; {@code ignoreCase} folds case for exact and prefix (Istio's
     * ignoreUriCase).
     */
    boolean matches(String value, boolean ignoreCase);

    /** {@code exact: value}. */
    record Exact(String value) implements StringMatch {
        @Override
        public boolean matches(String v, boolean ignoreCase) {
            return v != null && (ignoreCase ? v.equalsIgnoreCase(value) : v.equals(value));
        }
    }

    /** {@code prefix: value}. */
    record Prefix(String value) implements StringMatch {
        @Override
        public boolean matches(String v, boolean ignoreCase) {
            return v != null && v.regionMatches(ignoreCase, 0, value, 0, value.length());
        }
    }

    /** {@code regex: pattern}; the whole value must match. */
    record Regex(String regex, Pattern pattern) implements StringMatch {
        public static Regex of(String regex) {
            return new Regex(regex, Pattern.compile(regex));
        }

        @Override
        public boolean matches(String v, boolean ignoreCase) {
            return v != null && pattern.matcher(v).matches();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Regex r && r.regex.equals(regex);
        }

        @Override
        public int hashCode() {
            return regex.hashCode();
        }
    }
}
