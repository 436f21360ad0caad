package io.mithril.cli.demo;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the project's directory (where {@code examples/} lives): -Dmithril.home, or from the jar.
 */
final class MithrilHome {

    private MithrilHome() {}

    static Path locate() {
        String prop = System.getProperty("mithril.home");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        try {
            Path p =
                    Path.of(
                            MithrilHome.class
                                    .getProtectionDomain()
                                    .getCodeSource()
                                    .getLocation()
                                    .toURI());
            for (Path d = p; d != null; d = d.getParent()) {
                if (Files.isDirectory(d.resolve("examples/two-clusters"))) {
                    return d;
                }
            }
        } catch (URISyntaxException | SecurityException e) {
            // fall through
        }
        return Path.of("").toAbsolutePath();
    }
}
