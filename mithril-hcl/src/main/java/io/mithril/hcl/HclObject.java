package io.mithril.hcl;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * An object: the whole document, a block body ({@code server { .. }}) or {@code key = { .. }}.
 * Entries keep file order and a key may repeat (several {@code NodeAttestor} blocks).
 *
 * <p>The typed accessors ({@link #string}, {@link #number}, {@link #duration}, ...) accept the
 * spellings real SPIRE configs use (numbers as quoted strings, {@code "true"}) and throw {@link
 * HclException} naming the key, its position and the type found when the value cannot be what the
 * caller asks for, or when a key that must be single is repeated. A missing key gives the default
 * (or an empty result).
 */
public final class HclObject implements HclValue {

    private final List<HclEntry> entries;
    private final Position position;

    public HclObject(List<HclEntry> entries, Position position) {
        this.entries = List.copyOf(entries);
        this.position = Objects.requireNonNull(position, "position");
    }

    @Override
    public Position position() {
        return position;
    }

    /**
     * Where {@code key} is set in this block, or where the block starts when it is not set: the
     * place an error about that key points the operator to.
     *
     * @throws HclException if the key is set more than once
     */
    public Position position(String key) throws HclException {
        return entry(key).map(HclEntry::position).orElse(position);
    }

    /**
     * A string that must be set.
     *
     * @param what the block, for the message (e.g. {@code "agent block"})
     * @param example a line that would set it (e.g. {@code trust_domain = "example.org"})
     * @throws HclException at the block's position if the key is not set, or if it is not a string
     */
    public String requiredString(String key, String what, String example) throws HclException {
        return string(key)
                .orElseThrow(
                        () ->
                                new HclException(
                                        position,
                                        what + ": " + key + " is required (e.g. " + example + ")"));
    }

    @Override
    public String typeName() {
        return "object";
    }

    /** All entries, in file order. */
    public List<HclEntry> entries() {
        return entries;
    }

    /** The distinct keys, in order of first appearance. */
    public Set<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        for (HclEntry e : entries) {
            keys.add(e.key());
        }
        return keys;
    }

    /** Every entry with this key, in file order (blocks may repeat). */
    public List<HclEntry> all(String key) {
        List<HclEntry> found = new ArrayList<>();
        for (HclEntry e : entries) {
            if (e.key().equals(key)) {
                found.add(e);
            }
        }
        return found;
    }

    public boolean has(String key) {
        for (HclEntry e : entries) {
            if (e.key().equals(key)) {
                return true;
            }
        }
        return false;
    }

    /** The single entry with this key, or empty; HclException if the key is repeated. */
    public Optional<HclEntry> entry(String key) throws HclException {
        HclEntry first = null;
        for (HclEntry e : entries) {
            if (e.key().equals(key)) {
                if (first != null) {
                    throw new HclException(
                            e.position(),
                            "key \""
                                    + key
                                    + "\" is repeated (first set at "
                                    + first.position()
                                    + "); give it once");
                }
                first = e;
            }
        }
        return Optional.ofNullable(first);
    }

    /** The value of the single entry with this key; HclException if the key is repeated. */
    public Optional<HclValue> get(String key) throws HclException {
        return entry(key).map(HclEntry::value);
    }

    /** The value as text: strings as they are, numbers as written, bools as true/false. */
    public Optional<String> string(String key) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return Optional.empty();
        }
        HclValue v = e.get().value();
        if (v instanceof HclString s) {
            return Optional.of(s.value());
        }
        if (v instanceof HclNumber n) {
            return Optional.of(n.text());
        }
        if (v instanceof HclBool b) {
            return Optional.of(Boolean.toString(b.value()));
        }
        throw wrongType(e.get(), "a string");
    }

    public String string(String key, String dflt) throws HclException {
        return string(key).orElse(dflt);
    }

    /** A whole number, written bare ({@code 8081}) or quoted ({@code "8081"}). */
    public long number(String key, long dflt) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return dflt;
        }
        HclValue v = e.get().value();
        if (v instanceof HclNumber n) {
            try {
                return n.value().longValueExact();
            } catch (ArithmeticException ex) {
                throw wrongType(e.get(), "a whole number");
            }
        }
        if (v instanceof HclString s) {
            BigDecimal parsed = HclNumber.parseLiteral(s.value().trim());
            if (parsed != null) {
                try {
                    return parsed.longValueExact();
                } catch (ArithmeticException ex) {
                    // falls through to the error below
                }
            }
        }
        throw wrongType(e.get(), "a whole number");
    }

    /** {@code true}/{@code false}, bare or quoted. */
    public boolean bool(String key, boolean dflt) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return dflt;
        }
        HclValue v = e.get().value();
        if (v instanceof HclBool b) {
            return b.value();
        }
        if (v instanceof HclString s) {
            if (s.value().equals("true")) {
                return true;
            }
            if (s.value().equals("false")) {
                return false;
            }
        }
        throw wrongType(e.get(), "true or false");
    }

    /**
     * A duration in Go's notation ({@code "1h"}, {@code "90m"}, {@code "1h30m"}, {@code "500ms"},
     * {@code "1.5h"}); a bare or quoted number means seconds.
     */
    public Duration duration(String key, Duration dflt) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return dflt;
        }
        HclValue v = e.get().value();
        if (v instanceof HclNumber n) {
            try {
                return Duration.ofSeconds(n.value().longValueExact());
            } catch (ArithmeticException ex) {
                throw wrongType(
                        e.get(), "a duration such as \"1h\", \"90m\" or a whole number of seconds");
            }
        }
        if (v instanceof HclString s) {
            try {
                return GoDuration.parse(s.value());
            } catch (IllegalArgumentException ex) {
                throw new HclException(v.position(), key + ": " + ex.getMessage());
            }
        }
        throw wrongType(e.get(), "a duration such as \"1h\" or \"90m\"");
    }

    /** A list of strings, or a single string as a list of one; empty when the key is absent. */
    public List<String> strings(String key) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return List.of();
        }
        HclValue v = e.get().value();
        if (v instanceof HclList list) {
            List<String> out = new ArrayList<>(list.elements().size());
            for (HclValue element : list.elements()) {
                if (element instanceof HclString s) {
                    out.add(s.value());
                } else if (element instanceof HclNumber n) {
                    out.add(n.text());
                } else if (element instanceof HclBool b) {
                    out.add(Boolean.toString(b.value()));
                } else {
                    throw new HclException(
                            element.position(),
                            key
                                    + ": expected a list of strings, found "
                                    + element.describe()
                                    + " in the list");
                }
            }
            return List.copyOf(out);
        }
        if (v instanceof HclString s) {
            return List.of(s.value());
        }
        throw wrongType(e.get(), "a string or a list of strings");
    }

    /** The single block or {@code key = { .. }} with this key. */
    public Optional<HclObject> object(String key) throws HclException {
        Optional<HclEntry> e = entry(key);
        if (e.isEmpty()) {
            return Optional.empty();
        }
        if (e.get().value() instanceof HclObject o) {
            return Optional.of(o);
        }
        throw wrongType(e.get(), "a block { ... }");
    }

    /**
     * Every object with this key, in file order: repeated blocks, and the elements of {@code key =
     * [{ .. }, { .. }]}.
     */
    public List<HclObject> objects(String key) throws HclException {
        List<HclObject> out = new ArrayList<>();
        for (HclEntry e : all(key)) {
            if (e.value() instanceof HclObject o) {
                out.add(o);
            } else if (e.value() instanceof HclList list) {
                for (HclValue element : list.elements()) {
                    if (element instanceof HclObject o) {
                        out.add(o);
                    } else {
                        throw new HclException(
                                element.position(),
                                key
                                        + ": expected a block { ... }, found "
                                        + element.describe()
                                        + " in the list");
                    }
                }
            } else {
                throw wrongType(e, "a block { ... }");
            }
        }
        return List.copyOf(out);
    }

    /**
     * Fails on the first key not in {@code knownKeys}, naming it, its position, {@code what} (e.g.
     * "server block"), the closest known key and the known keys, so a typo is fixed at once.
     */
    public void requireOnly(Set<String> knownKeys, String what) throws HclException {
        for (HclEntry e : entries) {
            if (!knownKeys.contains(e.key())) {
                StringBuilder m =
                        new StringBuilder()
                                .append("unknown key ")
                                .append(Quote.quote(e.key()))
                                .append(" in ")
                                .append(what);
                String closest = closest(e.key(), knownKeys);
                if (closest != null) {
                    m.append("; did you mean ").append(Quote.quote(closest)).append('?');
                }
                m.append(" (known: ")
                        .append(String.join(", ", new TreeSet<>(knownKeys)))
                        .append(')');
                throw new HclException(e.position(), m.toString());
            }
        }
    }

    private static HclException wrongType(HclEntry e, String expected) {
        return new HclException(
                e.value().position(),
                e.key() + ": expected " + expected + ", found " + e.value().describe());
    }

    /**
     * The known key nearest by edit distance (ignoring case), if it is near enough to be a typo.
     */
    static String closest(String key, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : new TreeSet<>(known)) {
            int d =
                    editDistance(
                            key.toLowerCase(java.util.Locale.ROOT),
                            k.toLowerCase(java.util.Locale.ROOT));
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        if (best == null) {
            return null;
        }
        int allowed = Math.max(2, Math.min(key.length(), best.length()) / 3);
        return bestDistance <= allowed ? best : null;
    }

    /** Damerau-Levenshtein (optimal string alignment): a swap of two letters counts as one edit. */
    static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] =
                        Math.min(
                                Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1
                        && j > 1
                        && a.charAt(i - 1) == b.charAt(j - 2)
                        && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HclObject other
                && entries.equals(other.entries)
                && position.equals(other.position);
    }

    @Override
    public int hashCode() {
        return Objects.hash(entries, position);
    }

    @Override
    public String toString() {
        return "HclObject" + entries;
    }
}
