package io.mithril.dashboard;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The samples of a Prometheus text exposition (version 0.0.4), as the proxies' {@code
 * /stats/prometheus} serves it: {@code name{label="value",...} number}. Comments and blank lines
 * are skipped; a line that does not parse is an error naming its line number.
 */
final class PromText {

    /** One sample. */
    record Sample(String name, Map<String, String> labels, double value) {
        String label(String key) {
            return labels.getOrDefault(key, "");
        }
    }

    private PromText() {}

    static List<Sample> parse(String text) {
        List<Sample> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                out.add(line(line));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        "metrics line " + (i + 1) + ": " + e.getMessage() + ": " + line);
            }
        }
        return out;
    }

    private static Sample line(String line) {
        int brace = line.indexOf('{');
        int space = line.indexOf(' ');
        Map<String, String> labels = new LinkedHashMap<>();
        String name;
        int rest;
        if (brace >= 0 && (space < 0 || brace < space)) {
            name = line.substring(0, brace);
            int i = brace + 1;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                if (eq < 0 || line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("label without a quoted value");
                }
                String key = line.substring(i, eq).strip();
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char n = line.charAt(++j);
                        v.append(n == 'n' ? '\n' : n);
                    } else {
                        v.append(c);
                    }
                }
                labels.put(key, v.toString());
                i = j + 1;
                if (line.charAt(i) == ',') {
                    i++;
                }
            }
            rest = i + 1;
        } else {
            if (space < 0) {
                throw new IllegalArgumentException("no value");
            }
            name = line.substring(0, space);
            rest = space;
        }
        String[] value = line.substring(rest).strip().split("\\s+");
        return new Sample(name, labels, parseValue(value[0]));
    }

    private static double parseValue(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }
}
