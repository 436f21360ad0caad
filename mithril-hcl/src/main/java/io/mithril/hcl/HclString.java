package io.mithril.hcl;

import java.util.Objects;

/** A quoted string or a heredoc, with escapes already resolved. */
public record HclString(String value, Position position) implements HclValue {

    public HclString {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(position, "position");
    }

    @Override
    public String typeName() {
        return "string";
    }

    @Override
    public String describe() {
        return "string " + Quote.quote(value);
    }
}
