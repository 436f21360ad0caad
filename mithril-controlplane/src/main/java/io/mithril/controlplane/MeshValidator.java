package io.mithril.controlplane;

import java.nio.file.Path;
import java.util.List;

/**
 * Decides whether a set of configuration files may be served. The control plane serves nothing from
 * a set with any error: it keeps the last good set.
 */
@FunctionalInterface
public interface MeshValidator {

    /**
     * Every error found in {@code files} taken together, one line each, naming file, line, resource
     * and field; empty when the set is valid.
     */
    List<String> validate(List<Path> files);
}
