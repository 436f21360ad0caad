package io.mithril.mesh.model;

import java.util.Map;

/**
 * {@code metadata}: the resource's name, namespace ({@code default} when omitted, as kubectl
 * assumes) and labels.
 */
public record Metadata(String name, String namespace, Map<String, String> labels) {
    public Metadata {
        labels = Map.copyOf(labels);
    }
}
