package io.mithril.hcl;

import java.util.Objects;

/** {@code true} or {@code false} written without quotes. */
public record HclBool(boolean value, Position position) implements HclValue {

    public HclBool {
        Objects.requireNonNull(position, "position");
    }

    @Override
    public String typeName() {
        return "bool";
    }

    @Override
    public String describe() {
        return "bool " + value;
    }
}
