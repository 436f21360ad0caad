package io.mithril.hcl;

import java.util.Objects;

/**
 * Where something is in an HCL source: the source's name (usually the file name), and the 1-based
 * line and column. {@code toString()} gives {@code server.conf:12:5}, the form editors and
 * terminals turn into a link. A position with line 0 stands for the whole source (for example a
 * file that cannot be read) and prints as the source name alone.
 */
public record Position(String source, int line, int column) {

    public Position {
        Objects.requireNonNull(source, "source");
    }

    /** A position that names the whole source rather than a place inside it. */
    public static Position ofSource(String source) {
        return new Position(source, 0, 0);
    }

    @Override
    public String toString() {
        return line <= 0 ? source : source + ":" + line + ":" + column;
    }
}
