package io.mithril.controlplane;

import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.nio.file.Path;
import java.util.List;

/**
 * The mesh module's validation, the one {@code mithril mesh validate} runs: every file parsed and
 * checked (kinds, API versions, fields, semantics), then the files checked together (the same
 * resource defined twice). Errors read {@code file:line: document N: Kind ns/name: field: message}.
 */
public final class IstioValidator implements MeshValidator {

    @Override
    public List<String> validate(List<Path> files) {
        return MeshYaml.parseFiles(files).errors().stream().map(ValidationError::toString).toList();
    }
}
