package io.mithril.mesh.yaml;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Thrown when mesh configuration cannot be used: it carries every error found (not just the first),
 * each with its file, line, resource and field, so an operator can fix them all at once.
 */
public final class MeshConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient List<ValidationError> errors;

    public MeshConfigException(List<ValidationError> errors) {
        super(errors.stream().map(ValidationError::toString).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    /** Every error, in file order. */
    public List<ValidationError> errors() {
        return errors;
    }
}
