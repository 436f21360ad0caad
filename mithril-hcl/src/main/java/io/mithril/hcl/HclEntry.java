package io.mithril.hcl;

import java.util.List;
import java.util.Objects;

/**
 * One item of an object: {@code key = value}, a block {@code key { .. }}, or a labelled block
 * {@code NodeAttestor "join_token" { .. }} (key "NodeAttestor", labels ["join_token"], value the
 * body). {@link #position()} is where the key is written.
 */
public record HclEntry(String key, List<String> labels, HclValue value, Position position) {

    public HclEntry {
        Objects.requireNonNull(key, "key");
        labels = List.copyOf(labels);
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(position, "position");
    }

    /** The first label, or empty for an unlabelled entry (the plugin name of a plugin block). */
    public java.util.Optional<String> label() {
        return labels.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(labels.get(0));
    }
}
