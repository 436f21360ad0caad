package io.mithril.controlplane;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One Istio resource as read from a configuration file: its identity ({@code kind}, {@code
 * namespace}, {@code name}), where it came from, its tree (to decide which proxies it concerns) and
 * its text as a YAML document (what proxies receive and parse themselves).
 *
 * @param source {@code file#document} (0-based document index, as the mesh validator counts)
 * @param tree the whole document ({@code apiVersion}, {@code kind}, {@code metadata}, {@code spec})
 * @param yaml the document re-serialized as YAML; same types and values as the original
 */
public record MeshDocument(
        String kind, String namespace, String name, String source, JsonNode tree, String yaml) {

    public MeshDocument {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tree, "tree");
        Objects.requireNonNull(yaml, "yaml");
    }

    /** {@code Kind namespace/name}, as the validator names resources. */
    public String ref() {
        return kind + " " + namespace + "/" + name;
    }

    /** {@code spec}, or a missing node. */
    public JsonNode spec() {
        return tree.path("spec");
    }

    /**
     * The strings of a list field of {@code spec} ({@code hosts}, {@code gateways}); empty when
     * absent.
     */
    public List<String> specStrings(String field) {
        JsonNode n = spec().path(field);
        if (!n.isArray()) {
            return List.of();
        }
        java.util.ArrayList<String> out = new java.util.ArrayList<>();
        n.forEach(
                v -> {
                    if (v.isValueNode()) {
                        out.add(v.asText());
                    }
                });
        return List.copyOf(out);
    }

    /**
     * A label map at {@code path} inside {@code spec} (e.g. {@code selector}); null when absent.
     */
    public Map<String, String> labelsAt(String... path) {
        JsonNode n = spec();
        for (String p : path) {
            n = n.path(p);
        }
        if (!n.isObject()) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        n.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }
}
