package io.mithril.hcl;

import java.util.List;
import java.util.Objects;

/** A list {@code [a, b, c]}; the elements keep their order and may have any type. */
public record HclList(List<HclValue> elements, Position position) implements HclValue {

    public HclList {
        elements = List.copyOf(elements);
        Objects.requireNonNull(position, "position");
    }

    @Override
    public String typeName() {
        return "list";
    }
}
