package io.mithril.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.server.IdentityServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code server localauthority x509|jwt ...} and {@code server upstreamauthority ...} as an
 * operator types them, against a real server: spire-server's text and JSON, and its errors.
 */
class LocalAuthorityCliTest {

    @TempDir Path dir;

    /** ServerCliTest's server and runner, reused. */
    private final ServerCliTest cli = new ServerCliTest();

    private IdentityServer server;

    @BeforeEach
    void start() throws Exception {
        cli.dir = dir;
        cli.start();
        server = cli.server;
    }

    @AfterEach
    void stop() {
        cli.stop();
    }

    private ServerCliTest.Result admin(String... args) {
        List<String> all = new ArrayList<>(List.of("server"));
        all.addAll(List.of(args));
        return cli.admin(all.toArray(String[]::new));
    }

    private static String group(String regex, String text) {
        return ServerCliTest.group(regex, text);
    }

    private static final String EXPIRES =
            "  Expires at: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC\n";

    @Test
    void x509VerbsPrintWhatSpireServerPrints() {
        String first =
                group(
                        "Active X.509 authority:\n  Authority ID: (\\S+)",
                        admin("localauthority", "x509", "show").out());

        ServerCliTest.Result prepared = admin("localauthority", "x509", "prepare");
        assertThat(prepared.exit()).as(prepared.err()).isZero();
        assertThat(prepared.out())
                .matches(
                        "Prepared X.509 authority:\n  Authority ID: [0-9a-f]{40}\n"
                                + EXPIRES
                                + "  Upstream authority ID: No upstream authority\n");
        String second = group("Authority ID: (\\S+)", prepared.out());

        ServerCliTest.Result refused =
                admin("localauthority", "x509", "taint", "-authorityID", second);
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err())
                .contains(
                        "Error: could not taint X.509 authority: only the old X.509 authority can be tainted; "
                                + second
                                + " is prepared (activate it first)");

        ServerCliTest.Result activated =
                admin("localauthority", "x509", "activate", "-authorityID", second);
        assertThat(activated.out())
                .startsWith("Activated X.509 authority:\n  Authority ID: " + second + "\n");
        assertThat(admin("localauthority", "x509", "show").out())
                .contains("Active X.509 authority:\n  Authority ID: " + second + "\n")
                .contains("Prepared X.509 authority:\n  No prepared X.509 authority found\n")
                .contains("Old X.509 authority:\n  Authority ID: " + first + "\n");

        ServerCliTest.Result untainted =
                admin("localauthority", "x509", "revoke", "-authorityID", first);
        assertThat(untainted.exit()).isEqualTo(1);
        assertThat(untainted.err())
                .contains(
                        "Error: could not revoke X.509 authority: the X.509 authority "
                                + first
                                + " is not tainted");

        String firstPem = pemOf(first);
        assertThat(admin("bundle", "show").out()).contains(firstPem);
        assertThat(admin("localauthority", "x509", "taint", "-authorityID", first).out())
                .startsWith("Tainted X.509 authority:\n  Authority ID: " + first + "\n");
        ServerCliTest.Result json =
                admin("localauthority", "x509", "revoke", "-authorityID", first, "-output", "json");
        assertThat(json.exit()).as(json.err()).isZero();
        assertThat(json.out())
                .matches(
                        "\\{\"revoked_authority\":\\{\"authority_id\":\""
                                + first
                                + "\",\"expires_at\":\"\\d+\",\"upstream_authority_subject_key_id\":\"\"\\}\\}\n");
        assertThat(admin("bundle", "show").out()).doesNotContain(firstPem);

        ServerCliTest.Result missing = admin("localauthority", "x509", "activate");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("Error: an authority ID is required");
        ServerCliTest.Result badOutput = admin("localauthority", "x509", "show", "-output", "yaml");
        assertThat(badOutput.exit()).isEqualTo(1);
        assertThat(badOutput.err()).contains("-output: unknown format \"yaml\" (pretty or json)");
    }

    /** The PEM of the bundle's CA with that Subject Key ID. */
    private String pemOf(String skid) {
        return server.bundle().x509Authorities().stream()
                .filter(c -> io.mithril.server.ca.BundleTaints.subjectKeyId(c).equals(skid))
                .map(io.mithril.server.ca.TrustBundle::pem)
                .findFirst()
                .orElseThrow();
    }

    @Test
    void jwtVerbsAndUpstreamRefusals() {
        String first =
                group(
                        "Active JWT authority:\n  Authority ID: (\\S+)",
                        admin("localauthority", "jwt", "show").out());
        ServerCliTest.Result prepared = admin("localauthority", "jwt", "prepare");
        assertThat(prepared.out())
                .matches("Prepared JWT authority:\n  Authority ID: \\S+\n" + EXPIRES);
        String second = group("Authority ID: (\\S+)", prepared.out());
        ServerCliTest.Result wrong =
                admin("localauthority", "jwt", "activate", "-authorityID", first);
        assertThat(wrong.exit()).isEqualTo(1);
        assertThat(wrong.err())
                .contains(
                        "Error: could not activate JWT authority: unexpected authority ID "
                                + first
                                + ": only the prepared JWT authority can be activated (prepared: "
                                + second
                                + ")");
        admin("localauthority", "jwt", "activate", "-authorityID", second);
        assertThat(admin("localauthority", "jwt", "taint", "-authorityID", first).out())
                .matches(
                        "Tainted JWT authority:\n  Authority ID: "
                                + Pattern.quote(first)
                                + "\n"
                                + EXPIRES);
        assertThat(admin("localauthority", "jwt", "revoke", "-authorityID", first).out())
                .startsWith("Revoked JWT authority:\n  Authority ID: " + first + "\n");

        ServerCliTest.Result noUpstream =
                admin("upstreamauthority", "taint", "-subjectKeyID", "abcd");
        assertThat(noUpstream.exit()).isEqualTo(1);
        assertThat(noUpstream.err())
                .contains(
                        "Error: could not taint X.509 upstream authority: upstream authority is not configured");
        ServerCliTest.Result noSkid = admin("upstreamauthority", "revoke");
        assertThat(noSkid.exit()).isEqualTo(1);
        assertThat(noSkid.err())
                .contains("Error: the Subject Key ID of the X.509 upstream authority is required");
    }
}
