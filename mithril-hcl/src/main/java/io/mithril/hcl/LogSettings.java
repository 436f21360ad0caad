package io.mithril.hcl;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * SPIRE's logging keys of a {@code server} or {@code agent} block, as {@code spire-server run} and
 * {@code spire-agent run} read them: {@code log_format} ({@code "text"}, the default, or {@code
 * "json"}, in any case), {@code log_file} (logs go to this file instead of stderr) and {@code
 * log_source_location} (each line names the class, method and line that logged it).
 *
 * @param json whether lines are JSON objects (SPIRE's logrus keys: time, level, msg)
 * @param file the file logs are appended to, or empty for stderr
 * @param sourceLocation whether each line names its source
 */
public record LogSettings(boolean json, Optional<Path> file, boolean sourceLocation) {

    /** stderr, text, no source location: what a block without these keys asks for. */
    public static final LogSettings DEFAULT = new LogSettings(false, Optional.empty(), false);

    /** Reads the keys from a {@code server} or {@code agent} block; errors name file:line:col. */
    public static LogSettings read(HclObject block) throws HclException {
        String format = block.string("log_format", "text");
        boolean json =
                switch (format.toUpperCase(Locale.ROOT)) {
                    case "", "TEXT" -> false;
                    case "JSON" -> true;
                    default ->
                            throw new HclException(
                                    block.position("log_format"),
                                    "log_format \"" + format + "\" is not \"text\" or \"json\"");
                };
        Optional<Path> file = Optional.empty();
        Optional<String> fileText = block.string("log_file");
        if (fileText.isPresent() && !fileText.get().isEmpty()) {
            try {
                file = Optional.of(Path.of(fileText.get()));
            } catch (java.nio.file.InvalidPathException e) {
                throw new HclException(
                        block.position("log_file"),
                        "log_file \"" + fileText.get() + "\" is not a path: " + e.getReason());
            }
        }
        return new LogSettings(json, file, block.bool("log_source_location", false));
    }
}
