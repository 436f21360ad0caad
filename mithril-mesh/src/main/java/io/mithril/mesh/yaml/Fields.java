package io.mithril.mesh.yaml;

import io.mithril.mesh.yaml.YNode.YList;
import io.mithril.mesh.yaml.YNode.YMap;
import io.mithril.mesh.yaml.YNode.YScalar;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the fields of one YAML map, recording every problem (wrong type, missing field, unknown
 * field) with its field path and line into a shared error list instead of stopping at the first
 * one. Typed getters return null when the field is absent or unusable.
 */
final class Fields {

    /** Where errors go, and what to prefix them with. */
    static final class Sink {
        final String file;
        final int document;
        String resource = "";
        final List<ValidationError> errors = new ArrayList<>();

        /**
         * Istio's warnings: reported, but the resource is still valid (as istioctl validate does).
         */
        final List<ValidationError> warnings = new ArrayList<>();

        Sink(String file, int document) {
            this.file = file;
            this.document = document;
        }

        void error(int line, String path, String message) {
            error(line, 0, path, message);
        }

        void error(int line, int column, String path, String message) {
            errors.add(new ValidationError(file, line, document, resource, path, message, column));
        }

        void warn(int line, String path, String message) {
            warn(line, 0, path, message);
        }

        void warn(int line, int column, String path, String message) {
            warnings.add(
                    new ValidationError(file, line, document, resource, path, message, column));
        }
    }

    private static final Pattern DURATION =
            Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s|us|µs|ns)");

    final Sink sink;
    final YMap map;
    final String path;
    private final Set<String> read = new HashSet<>();

    private Fields(Sink sink, YMap map, String path) {
        this.sink = sink;
        this.map = map;
        this.path = path;
    }

    /** The map at {@code node}, or null (and an error) when {@code node} is not a map. */
    static Fields of(Sink sink, YNode node, String path) {
        if (node instanceof YMap m) {
            return new Fields(sink, m, path);
        }
        if (node instanceof YScalar s && s.kind() == YScalar.Kind.NULL) {
            return new Fields(sink, new YMap(Map.of(), Map.of(), s.line()), path);
        }
        sink.error(node.line(), path, "must be a map, found " + node.describe());
        return null;
    }

    String at(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    int line() {
        return map.line();
    }

    int lineOf(String key) {
        Integer l = map.keyLines().get(key);
        return l == null ? map.line() : l;
    }

    /** 1-based column of {@code key} in this map, 0 when unknown or absent. */
    int columnOf(String key) {
        Integer c = map.keyColumns().get(key);
        return c == null ? 0 : c;
    }

    boolean has(String key) {
        YNode n = map.entries().get(key);
        return n != null && !(n instanceof YScalar s && s.kind() == YScalar.Kind.NULL);
    }

    YNode raw(String key) {
        read.add(key);
        YNode n = map.entries().get(key);
        if (n instanceof YScalar s && s.kind() == YScalar.Kind.NULL) {
            return null;
        }
        return n;
    }

    void error(String key, String message) {
        sink.error(lineOf(key), columnOf(key), at(key), message);
    }

    /**
     * Reports {@code message} for {@code key} when it is not null (an {@link IstioRules} result).
     */
    void check(String key, String message) {
        if (message != null) {
            error(key, message);
        }
    }

    void warn(String key, String message) {
        if (message != null) {
            sink.warn(lineOf(key), columnOf(key), at(key), message);
        }
    }

    /** Marks keys as known without reading them (fields that are accepted and ignored). */
    void ignore(String... keys) {
        read.addAll(List.of(keys));
    }

    /** Reports every key that no getter asked for, as Istio's strict decoding does. */
    void finish() {
        for (String key : map.entries().keySet()) {
            if (!read.contains(key)) {
                sink.error(lineOf(key), columnOf(key), at(key), "unknown field \"" + key + "\"");
            }
        }
    }

    String str(String key) {
        YNode n = raw(key);
        if (n == null) {
            return null;
        }
        if (n instanceof YScalar s) {
            return s.text();
        }
        error(key, "must be a string, found " + n.describe());
        return null;
    }

    String reqStr(String key) {
        if (!has(key)) {
            read.add(key);
            error(key, "is required");
            return null;
        }
        String s = str(key);
        if (s != null && s.isEmpty()) {
            error(key, "is required (found an empty string)");
            return null;
        }
        return s;
    }

    Integer integer(String key, long min, long max) {
        YNode n = raw(key);
        if (n == null) {
            return null;
        }
        if (n instanceof YScalar s
                && (s.kind() == YScalar.Kind.INTEGER || s.kind() == YScalar.Kind.STRING)) {
            try {
                long v = Long.parseLong(s.text().trim());
                if (v < min || v > max) {
                    error(key, "must be between " + min + " and " + max + ", found " + v);
                    return null;
                }
                return (int) v;
            } catch (NumberFormatException e) {
                error(key, "must be an integer, found \"" + s.text() + "\"");
                return null;
            }
        }
        error(key, "must be an integer, found " + n.describe());
        return null;
    }

    Double number(String key, double min, double max) {
        YNode n = raw(key);
        if (n == null) {
            return null;
        }
        if (n instanceof YScalar s && s.kind() != YScalar.Kind.BOOLEAN) {
            try {
                double v = Double.parseDouble(s.text().trim());
                if (!(v >= min && v <= max)) {
                    error(key, "must be between " + min + " and " + max + ", found " + s.text());
                    return null;
                }
                return v;
            } catch (NumberFormatException e) {
                error(key, "must be a number, found \"" + s.text() + "\"");
                return null;
            }
        }
        error(key, "must be a number, found " + n.describe());
        return null;
    }

    Boolean bool(String key) {
        YNode n = raw(key);
        if (n == null) {
            return null;
        }
        if (n instanceof YScalar s
                && (s.kind() == YScalar.Kind.BOOLEAN || s.kind() == YScalar.Kind.STRING)
                && (s.text().equals("true") || s.text().equals("false"))) {
            return Boolean.parseBoolean(s.text());
        }
        error(
                key,
                "must be true or false, found "
                        + (n instanceof YScalar s ? "\"" + s.text() + "\"" : n.describe()));
        return null;
    }

    /**
     * A duration in protobuf JSON form ({@code 5s}, {@code 0.5s}) or Go's ({@code 100ms}, {@code
     * 1m30s}).
     */
    Duration duration(String key) {
        String s = str(key);
        if (s == null) {
            return null;
        }
        Duration d = parseDuration(s.trim());
        if (d == null) {
            error(key, "invalid duration \"" + s + "\" (write e.g. 5s, 250ms, 1m)");
            return null;
        }
        if (d.compareTo(Duration.ofMillis(1)) < 0) {
            error(key, "duration \"" + s + "\" must be at least 1ms");
            return null;
        }
        if (d.toNanos() % 1_000_000 != 0) {
            error(key, "duration \"" + s + "\": only durations to ms precision are supported");
            return null;
        }
        return d;
    }

    static Duration parseDuration(String s) {
        if (s.isEmpty()) {
            return null;
        }
        Matcher m = DURATION.matcher(s);
        int pos = 0;
        double nanos = 0;
        while (pos < s.length()) {
            if (!m.find(pos) || m.start() != pos) {
                return null;
            }
            double v = Double.parseDouble(m.group(1));
            nanos +=
                    v
                            * switch (m.group(2)) {
                                case "h" -> 3600e9;
                                case "m" -> 60e9;
                                case "s" -> 1e9;
                                case "ms" -> 1e6;
                                case "us", "µs" -> 1e3;
                                default -> 1;
                            };
            pos = m.end();
        }
        if (nanos > 1e9 * 315_576_000_000.0 / 1000) {
            return null;
        }
        return Duration.ofNanos((long) nanos);
    }

    <E extends Enum<E>> E enumValue(String key, Class<E> type) {
        String s = str(key);
        if (s == null) {
            return null;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(s)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name());
        }
        error(key, "unknown value \"" + s + "\" (want one of " + String.join(", ", names) + ")");
        return null;
    }

    Fields obj(String key) {
        YNode n = raw(key);
        if (n == null) {
            return null;
        }
        return of(sink, n, at(key));
    }

    /** The items of a list field (empty when absent); a non-list is an error. */
    List<YNode> list(String key) {
        YNode n = raw(key);
        if (n == null) {
            return List.of();
        }
        if (n instanceof YList l) {
            return l.items();
        }
        error(key, "must be a list, found " + n.describe());
        return List.of();
    }

    <T> List<T> objList(String key, Function<Fields, T> reader) {
        List<T> out = new ArrayList<>();
        List<YNode> items = list(key);
        for (int i = 0; i < items.size(); i++) {
            Fields f = of(sink, items.get(i), at(key) + "[" + i + "]");
            if (f != null) {
                T t = reader.apply(f);
                f.finish();
                if (t != null) {
                    out.add(t);
                }
            }
        }
        return out;
    }

    List<String> strList(String key) {
        List<String> out = new ArrayList<>();
        List<YNode> items = list(key);
        for (int i = 0; i < items.size(); i++) {
            YNode n = items.get(i);
            if (n instanceof YScalar s && s.kind() != YScalar.Kind.NULL) {
                out.add(s.text());
            } else {
                sink.error(
                        n.line(),
                        at(key) + "[" + i + "]",
                        "must be a string, found " + n.describe());
            }
        }
        return out;
    }

    Map<String, String> strMap(String key) {
        Map<String, String> out = new LinkedHashMap<>();
        YNode n = raw(key);
        if (n == null) {
            return out;
        }
        if (!(n instanceof YMap m)) {
            error(key, "must be a map of strings, found " + n.describe());
            return out;
        }
        m.entries()
                .forEach(
                        (k, v) -> {
                            if (v instanceof YScalar s && s.kind() != YScalar.Kind.NULL) {
                                out.put(k, s.text());
                            } else {
                                sink.error(
                                        v.line(),
                                        at(key) + "." + k,
                                        "must be a string, found " + v.describe());
                            }
                        });
        return out;
    }

    /** A map whose values are maps, read with {@code reader}. */
    <T> Map<String, T> objMap(String key, Function<Fields, T> reader) {
        Map<String, T> out = new LinkedHashMap<>();
        YNode n = raw(key);
        if (n == null) {
            return out;
        }
        if (!(n instanceof YMap m)) {
            error(key, "must be a map, found " + n.describe());
            return out;
        }
        m.entries()
                .forEach(
                        (k, v) -> {
                            Fields f = of(sink, v, at(key) + "." + k);
                            if (f != null) {
                                T t = reader.apply(f);
                                f.finish();
                                if (t != null) {
                                    out.put(k, t);
                                }
                            }
                        });
        return out;
    }
}
