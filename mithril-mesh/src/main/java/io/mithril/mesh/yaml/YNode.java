package io.mithril.mesh.yaml;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML value with the line and column where it starts, so that validation errors can point at the
 * exact place in the user's file. Jackson's own tree ({@code JsonNode}) drops locations.
 */
public sealed interface YNode permits YNode.YMap, YNode.YList, YNode.YScalar {

    /** 1-based line of the value in its file. */
    int line();

    /** A YAML word for the node's kind, for messages ("a map", "a list", "a string"). */
    String describe();

    /**
     * A mapping; keys keep their order. {@code keyColumns}: 1-based column of each key (absent:
     * unknown).
     */
    record YMap(
            Map<String, YNode> entries,
            Map<String, Integer> keyLines,
            Map<String, Integer> keyColumns,
            int line)
            implements YNode {
        public YMap {
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
            keyLines = Collections.unmodifiableMap(new LinkedHashMap<>(keyLines));
            keyColumns = Collections.unmodifiableMap(new LinkedHashMap<>(keyColumns));
        }

        /** A mapping whose key columns are unknown. */
        public YMap(Map<String, YNode> entries, Map<String, Integer> keyLines, int line) {
            this(entries, keyLines, Map.of(), line);
        }

        @Override
        public String describe() {
            return "a map";
        }
    }

    /** A sequence. */
    record YList(List<YNode> items, int line) implements YNode {
        public YList {
            items = List.copyOf(items);
        }

        @Override
        public String describe() {
            return "a list";
        }
    }

    /**
     * A scalar. {@code text} is null for YAML null ({@code ~}, empty); {@code quoted} tells a
     * string from a number or boolean that YAML typed.
     */
    record YScalar(String text, Kind kind, int line) implements YNode {
        /** What YAML made of the scalar. */
        public enum Kind {
            STRING,
            INTEGER,
            FLOAT,
            BOOLEAN,
            NULL
        }

        @Override
        public String describe() {
            return switch (kind) {
                case STRING -> "a string";
                case INTEGER -> "an integer";
                case FLOAT -> "a number";
                case BOOLEAN -> "a boolean";
                case NULL -> "null";
            };
        }
    }
}
