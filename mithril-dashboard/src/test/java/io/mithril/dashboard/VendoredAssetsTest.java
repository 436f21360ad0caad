package io.mithril.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * The front-end library is vendored by frontend/build.sh from the version package-lock.json pins:
 * the committed file must be the one its SHA256SUMS names, of the version the lockfile names
 * ({@code frontend/build.sh --check} re-fetches it with npm and compares byte for byte).
 */
class VendoredAssetsTest {

    @Test
    void theVendoredLibraryIsTheOneTheLockfilePins() throws Exception {
        byte[] lib;
        try (InputStream in =
                DashboardServer.class.getResourceAsStream("web/vendor/cytoscape.min.js")) {
            assertThat(in).as("vendor/cytoscape.min.js in the jar").isNotNull();
            lib = in.readAllBytes();
        }
        String sums;
        String versions;
        try (InputStream in = DashboardServer.class.getResourceAsStream("web/vendor/SHA256SUMS");
                InputStream v = DashboardServer.class.getResourceAsStream("web/vendor/VERSIONS")) {
            sums = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            versions = new String(v.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(lib));
        assertThat(sums).isEqualTo(sha + "  cytoscape.min.js\n");
        JsonNode lock =
                new ObjectMapper()
                        .readTree(Files.readString(Path.of("frontend/package-lock.json")));
        String locked =
                lock.path("packages").path("node_modules/cytoscape").path("version").asText();
        assertThat(versions).isEqualTo("cytoscape " + locked);
        assertThat(new String(lib, StandardCharsets.UTF_8)).contains("\"" + locked + "\"");
    }
}
