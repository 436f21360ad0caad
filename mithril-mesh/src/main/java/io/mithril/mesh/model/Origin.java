package io.mithril.mesh.model;

/** The file, document index and line a resource was read from. */
public record Origin(String file, int document, int line) {
    @Override
    public String toString() {
        return file + ":" + line;
    }
}
