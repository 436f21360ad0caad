package io.mithril.mesh.yaml;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.mithril.mesh.yaml.YNode.YList;
import io.mithril.mesh.yaml.YNode.YMap;
import io.mithril.mesh.yaml.YNode.YScalar;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a multi-document YAML text ({@code ---} separated, as {@code kubectl apply -f} takes) into
 * located trees with Jackson's streaming YAML parser. Empty documents are skipped, as kubectl does.
 */
public final class YamlDocuments {

    /** A document of a file: its 0-based index, the line it starts on and its root. */
    public record Document(int index, int line, YNode root) {}

    /** The documents read, and a syntax error (if any) that stopped the reading. */
    public record Result(List<Document> documents, List<ValidationError> errors) {}

    private static final int MAX_DEPTH = 200;

    private static final YAMLFactory FACTORY =
            YAMLFactory.builder()
                    .streamReadConstraints(
                            StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
                    .build();
    private static final JsonFactory JSON =
            JsonFactory.builder()
                    .streamReadConstraints(
                            StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
                    .build();

    private YamlDocuments() {}

    /**
     * Parses {@code text} (named {@code file} in errors); never throws for bad input. The text is
     * split at {@code ---} lines as Kubernetes' YAML reader splits it; a document whose first
     * character is <code>{</code> or {@code [} is read as JSON, so JSON indented with tabs (which
     * YAML 1.1 parsers refuse) is read as {@code kubectl} and {@code istioctl} read it.
     */
    public static Result read(String file, String text) {
        List<Document> docs = new ArrayList<>();
        List<ValidationError> errors = new ArrayList<>();
        int index = 0;
        for (Chunk chunk : split(text)) {
            try {
                String trimmed = chunk.text().strip();
                boolean json = trimmed.startsWith("{") || trimmed.startsWith("[");
                try (JsonParser p = (json ? JSON : FACTORY).createParser(chunk.text())) {
                    JsonToken t;
                    boolean first = true;
                    while ((t = p.nextToken()) != null) {
                        if (!first) {
                            index++; // a JSON stream of several objects: one document each
                        }
                        first = false;
                        int line = line(p.currentTokenLocation(), chunk.firstLine());
                        YNode root = readValue(p, t, 0, chunk.firstLine());
                        if (root instanceof YMap m && !m.keyLines().isEmpty()) {
                            line =
                                    m.keyLines()
                                            .values()
                                            .iterator()
                                            .next(); // the first key, not the "---" before it
                        }
                        boolean empty =
                                root instanceof YScalar s
                                        && (s.kind() == YScalar.Kind.NULL || s.text().isEmpty());
                        if (!empty) {
                            docs.add(new Document(index, line, root));
                        }
                    }
                }
            } catch (JsonProcessingException e) {
                JsonLocation loc = e.getLocation();
                errors.add(
                        new ValidationError(
                                file,
                                loc == null ? 0 : line(loc, chunk.firstLine()),
                                index,
                                "",
                                "",
                                "invalid YAML: "
                                        + e.getOriginalMessage().lines().findFirst().orElse("")
                                        + (loc == null || loc.getColumnNr() < 1
                                                ? ""
                                                : " (column " + loc.getColumnNr() + ")")));
                return new Result(docs, errors);
            } catch (IOException | RuntimeException e) {
                // SnakeYAML reports some syntax errors as unchecked exceptions; they are still the
                // input's fault.
                errors.add(
                        new ValidationError(
                                file,
                                chunk.firstLine(),
                                index,
                                "",
                                "",
                                "invalid YAML: " + e.getMessage()));
                return new Result(docs, errors);
            }
            index++;
        }
        return new Result(docs, errors);
    }

    /** One {@code ---} separated part of a file and the 1-based line it starts on. */
    private record Chunk(String text, int firstLine) {}

    /**
     * Splits at lines that are {@code ---} (optionally followed by spaces or a comment), as
     * Kubernetes' {@code YAMLReader} does; the separator line belongs to no part. A text without
     * separators is one part.
     */
    private static List<Chunk> split(String text) {
        List<Chunk> chunks = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        StringBuilder cur = new StringBuilder();
        int start = 1;
        for (int i = 0; i < lines.length; i++) {
            String l =
                    lines[i].endsWith("\r")
                            ? lines[i].substring(0, lines[i].length() - 1)
                            : lines[i];
            if (l.startsWith("---")
                    && (l.length() == 3
                            || l.charAt(3) == ' '
                            || l.charAt(3) == '\t'
                            || l.charAt(3) == '#')
                    && l.substring(3).strip().replaceFirst("^#.*", "").isEmpty()) {
                if (i > 0) {
                    chunks.add(new Chunk(cur.toString(), start));
                }
                cur.setLength(0);
                start = i + 2;
                continue;
            }
            cur.append(lines[i]);
            if (i < lines.length - 1) {
                cur.append('\n');
            }
        }
        chunks.add(new Chunk(cur.toString(), start));
        return chunks;
    }

    private static int line(JsonLocation loc, int firstLine) {
        return loc.getLineNr() < 0 ? 0 : loc.getLineNr() + firstLine - 1;
    }

    private static YNode readValue(JsonParser p, JsonToken t, int depth, int firstLine)
            throws IOException {
        int line = line(p.currentTokenLocation(), firstLine);
        if (depth > MAX_DEPTH) {
            throw new JsonProcessingException(
                    "nesting deeper than " + MAX_DEPTH + " levels", p.currentTokenLocation()) {
                private static final long serialVersionUID = 1L;
            };
        }
        switch (t) {
            case START_OBJECT -> {
                Map<String, YNode> entries = new LinkedHashMap<>();
                Map<String, Integer> keyLines = new LinkedHashMap<>();
                Map<String, Integer> keyColumns = new LinkedHashMap<>();
                JsonToken n;
                while ((n = p.nextToken()) == JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    int keyLine = line(p.currentTokenLocation(), firstLine);
                    int keyColumn = p.currentTokenLocation().getColumnNr();
                    YNode v = readValue(p, p.nextToken(), depth + 1, firstLine);
                    if (entries.containsKey(key)) {
                        throw new JsonProcessingException(
                                "duplicate key \"" + key + "\"", p.currentTokenLocation()) {
                            private static final long serialVersionUID = 1L;
                        };
                    }
                    entries.put(key, v);
                    keyLines.put(key, keyLine);
                    if (keyColumn > 0) {
                        keyColumns.put(key, keyColumn);
                    }
                }
                if (n != JsonToken.END_OBJECT) {
                    throw new IOException("unexpected token " + n);
                }
                return new YMap(entries, keyLines, keyColumns, line);
            }
            case START_ARRAY -> {
                List<YNode> items = new ArrayList<>();
                JsonToken n;
                while ((n = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (n == null) {
                        throw new IOException("unexpected end of input in a list");
                    }
                    items.add(readValue(p, n, depth + 1, firstLine));
                }
                return new YList(items, line);
            }
            case VALUE_STRING -> {
                return new YScalar(p.getText(), YScalar.Kind.STRING, line);
            }
            case VALUE_NUMBER_INT -> {
                return new YScalar(p.getText(), YScalar.Kind.INTEGER, line);
            }
            case VALUE_NUMBER_FLOAT -> {
                return new YScalar(p.getText(), YScalar.Kind.FLOAT, line);
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                return new YScalar(p.getText(), YScalar.Kind.BOOLEAN, line);
            }
            case VALUE_NULL -> {
                return new YScalar(null, YScalar.Kind.NULL, line);
            }
            case VALUE_EMBEDDED_OBJECT -> {
                Object o = p.getEmbeddedObject();
                return new YScalar(
                        o == null ? null : String.valueOf(o),
                        o == null ? YScalar.Kind.NULL : YScalar.Kind.STRING,
                        line);
            }
            default -> throw new IOException("unexpected token " + t);
        }
    }
}
