package io.mithril.hcl;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The configuration of one SPIRE plugin block ({@code PluginType "name" { ... }}), shared by the
 * server's and the agent's parsers: {@code plugin_data { ... }} (or {@code plugin_data = { ... }})
 * or {@code plugin_data_file = "path"}, a file holding the same HCL, read relative to the working
 * directory as SPIRE reads it. The two are exclusive, as in SPIRE. {@code plugin_cmd} and {@code
 * plugin_checksum} (an external plugin binary) are refused: Mithril has built-in plugins only.
 */
public final class PluginData {

    private PluginData() {}

    /** The plugin's data; an empty block when neither key is set. */
    public static HclObject of(HclObject body, String what) throws HclException {
        for (String k : List.of("plugin_cmd", "plugin_checksum")) {
            if (body.has(k)) {
                throw new HclException(
                        body.position(k),
                        what
                                + ": "
                                + k
                                + " (an external plugin binary) is not supported;"
                                + " Mithril runs its built-in plugins only");
            }
        }
        Optional<HclEntry> data = body.entry("plugin_data");
        Optional<String> file = body.string("plugin_data_file");
        if (data.isPresent() && file.isPresent()) {
            throw new HclException(
                    body.position("plugin_data_file"),
                    what
                            + ": plugin_data and plugin_data_file are mutually exclusive: set only one");
        }
        if (file.isPresent()) {
            Path path = Path.of(file.get());
            if (!Files.isRegularFile(path)) {
                throw new HclException(
                        body.position("plugin_data_file"),
                        what + ": plugin_data_file \"" + file.get() + "\" is not a readable file");
            }
            return Hcl.parseFile(path);
        }
        if (data.isEmpty()) {
            return new HclObject(List.of(), body.position());
        }
        HclValue v = data.get().value();
        if (v instanceof HclObject o) {
            return o;
        }
        throw new HclException(
                v.position(), "plugin_data must be a block { ... }, found " + v.describe());
    }
}
