package io.mithril.controlplane;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads the Istio resources of a configuration directory as {@link MeshDocument}s. This is not the
 * validator (the mesh module's parser is, see {@link MeshValidator}): it runs only on files the
 * validator accepted, and keeps each resource's document so it can be sent to proxies as is.
 * Documents of other API groups (a Deployment in the same file) are skipped, as the validator skips
 * them; document indexes count every {@code ---} document, empty ones included.
 */
public final class MeshDocuments {

    private static final YAMLFactory YAML =
            YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).build();
    private static final ObjectMapper MAPPER = new ObjectMapper(YAML);

    private MeshDocuments() {}

    /**
     * The configuration files of {@code dir}: regular files named {@code *.yaml} or {@code *.yml}
     * (as {@code mithril mesh validate -f DIR} takes them), not hidden (editors' lock and swap
     * files are), sorted by name.
     *
     * @throws UncheckedIOException if the directory cannot be listed
     */
    public static List<Path> configFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(
                            p -> {
                                String n = p.getFileName().toString();
                                return !n.startsWith(".")
                                        && (n.endsWith(".yaml") || n.endsWith(".yml"));
                            })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot list configuration directory " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The Istio documents of {@code files}, in file order.
     *
     * @throws UncheckedIOException if a file cannot be read or is not YAML
     */
    public static List<MeshDocument> read(List<Path> files) {
        List<MeshDocument> out = new ArrayList<>();
        for (Path f : files) {
            try {
                out.addAll(parse(f.toString(), Files.readString(f, StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    /** The Istio documents of one file's text. */
    public static List<MeshDocument> parse(String file, String text) throws IOException {
        List<MeshDocument> out = new ArrayList<>();
        try (JsonParser p = YAML.createParser(text)) {
            int index = 0;
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                JsonNode tree = t == JsonToken.VALUE_NULL ? null : MAPPER.readTree(p);
                if (tree != null && tree.isObject()) {
                    String apiVersion = tree.path("apiVersion").asText("");
                    if (apiVersion.startsWith("networking.istio.io/")
                            || apiVersion.startsWith("security.istio.io/")) {
                        JsonNode md = tree.path("metadata");
                        String ns = md.path("namespace").asText("");
                        out.add(
                                new MeshDocument(
                                        tree.path("kind").asText(""),
                                        ns.isEmpty() ? "default" : ns,
                                        md.path("name").asText(""),
                                        file + "#" + index,
                                        tree,
                                        MAPPER.writeValueAsString(tree)));
                    }
                }
                index++;
            }
        }
        return out;
    }

    /** Several documents as one multi-document YAML text. */
    public static String join(List<String> yamlDocuments) {
        StringBuilder sb = new StringBuilder();
        for (String d : yamlDocuments) {
            sb.append("---\n").append(d);
            if (!d.endsWith("\n")) {
                sb.append('\n');
            }
        }
        return sb.toString();
    }
}
