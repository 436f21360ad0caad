package io.mithril.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import io.mithril.server.IdentityServer;
import io.mithril.server.ca.TrustBundle;
import io.mithril.server.config.FederationConfig;
import io.mithril.server.config.ServerConfig;
import io.mithril.spiffe.id.TrustDomain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mithril server federation ...} and {@code server bundle ...} with SPIRE's verbs and flags,
 * between two real servers: example.org serves its bundle endpoint (https_spiffe), domain.test
 * federates with it through the CLI.
 */
class FederationCliTest {

    @TempDir Path dir;
    IdentityServer a;
    IdentityServer b;
    String endpoint;

    record Result(int exit, String out, String err) {}

    @BeforeEach
    void start() throws Exception {
        a =
                IdentityServer.start(
                        ServerConfig.builder(TrustDomain.parse("example.org"), dir.resolve("a"))
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(dir.resolve("a/private/api.sock"))
                                .joinToken(true)
                                .rotationCheckInterval(Duration.ofHours(1))
                                .federation(
                                        new FederationConfig(
                                                FederationConfig.BundleEndpoint.httpsSpiffe(
                                                        "127.0.0.1", 0, Duration.ofMinutes(5)),
                                                List.of()))
                                .build());
        b =
                IdentityServer.start(
                        ServerConfig.builder(TrustDomain.parse("domain.test"), dir.resolve("b"))
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(dir.resolve("b/private/api.sock"))
                                .joinToken(true)
                                .rotationCheckInterval(Duration.ofHours(1))
                                .build());
        endpoint = "https://127.0.0.1:" + a.bundleEndpointAddress().getPort();
    }

    @AfterEach
    void stop() {
        b.close();
        a.close();
    }

    Result on(IdentityServer server, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] all =
                java.util.stream.Stream.concat(
                                java.util.Arrays.stream(args),
                                java.util.stream.Stream.of(
                                        "-socketPath", server.adminSocketPath().toString()))
                        .toArray(String[]::new);
        return new Result(cl.execute(all), out.toString(), err.toString());
    }

    Path aBundleFile() throws Exception {
        Result shown = on(a, "server", "bundle", "show", "-format", "spiffe");
        assertThat(shown.exit()).as(shown.err()).isZero();
        Path f = dir.resolve("example.org.json");
        Files.writeString(f, shown.out());
        return f;
    }

    @Test
    void federationVerbsManageARelationshipAndRefreshTheBundle() throws Exception {
        Result created =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "example.org",
                        "-bundleEndpointURL",
                        endpoint,
                        "-bundleEndpointProfile",
                        "https_spiffe",
                        "-endpointSpiffeID",
                        "spiffe://example.org/spire/server",
                        "-trustDomainBundlePath",
                        aBundleFile().toString(),
                        "-trustDomainBundleFormat",
                        "spiffe");
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(created.out())
                .contains("Trust domain              : example.org\n")
                .contains("Bundle endpoint URL       : " + endpoint + "\n")
                .contains("Bundle endpoint profile   : https_spiffe\n")
                .contains("Endpoint SPIFFE ID        : spiffe://example.org/spire/server\n");

        assertThat(on(b, "server", "federation", "list").out())
                .startsWith("Found 1 federation relationship\n\n")
                .contains("Trust domain              : example.org");
        assertThat(on(b, "server", "federation", "show", "-trustDomain", "example.org").out())
                .contains("Bundle endpoint URL       : " + endpoint);
        assertThat(on(b, "server", "federation", "list", "-output", "json").out())
                .contains("\"bundle_endpoint_profile\": \"https_spiffe\"");

        Result refreshed = on(b, "server", "federation", "refresh", "-id", "example.org");
        assertThat(refreshed.exit()).as(refreshed.err()).isZero();
        assertThat(refreshed.out())
                .startsWith(
                        "Bundle refreshed (trust domain example.org, sequence "
                                + a.bundle().sequenceNumber());
        Result pem = on(b, "server", "bundle", "list", "-id", "example.org", "-format", "pem");
        assertThat(pem.out()).isEqualTo(a.bundle().toPem());

        // A wrong endpoint ID: refresh fails with the reason, the bundle stays.
        Result updated =
                on(
                        b,
                        "server",
                        "federation",
                        "update",
                        "-trustDomain",
                        "example.org",
                        "-bundleEndpointURL",
                        endpoint,
                        "-bundleEndpointProfile",
                        "https_spiffe",
                        "-endpointSpiffeID",
                        "spiffe://example.org/impostor");
        assertThat(updated.exit()).as(updated.err()).isZero();
        Result refused = on(b, "server", "federation", "refresh", "-id", "example.org");
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err())
                .contains("TLS handshake failed")
                .contains("spiffe://example.org/impostor")
                .contains("the bundle held is unchanged");
        assertThat(on(b, "server", "bundle", "list", "-id", "example.org", "-format", "pem").out())
                .isEqualTo(a.bundle().toPem());

        Result again =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "example.org",
                        "-bundleEndpointURL",
                        endpoint,
                        "-bundleEndpointProfile",
                        "https_web");
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");

        assertThat(on(b, "server", "federation", "delete", "-id", "example.org").out())
                .isEqualTo("federation relationship deleted.\n");
        Result gone = on(b, "server", "federation", "show", "-trustDomain", "example.org");
        assertThat(gone.exit()).isEqualTo(1);
        assertThat(gone.err()).contains("no federation relationship with example.org");
        // Deleting the relationship keeps the bundle, as SPIRE does.
        assertThat(on(b, "server", "bundle", "list", "-id", "example.org").exit()).isZero();
    }

    @Test
    void badRelationshipsAreRefusedAndNothingIsStored() throws Exception {
        Result http =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "example.org",
                        "-bundleEndpointURL",
                        "http://127.0.0.1:1",
                        "-bundleEndpointProfile",
                        "https_web");
        assertThat(http.exit()).isEqualTo(1);
        assertThat(http.err()).contains("must be an https URL");
        Result noId =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "example.org",
                        "-bundleEndpointURL",
                        endpoint);
        assertThat(noId.exit()).isEqualTo(1);
        assertThat(noId.err()).contains("needs endpoint_spiffe_id");
        Result self =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "domain.test",
                        "-bundleEndpointURL",
                        endpoint,
                        "-bundleEndpointProfile",
                        "https_web");
        assertThat(self.exit()).isEqualTo(1);
        assertThat(self.err()).contains("own trust domain");
        Result wrongBundle =
                on(
                        b,
                        "server",
                        "federation",
                        "create",
                        "-trustDomain",
                        "other.test",
                        "-bundleEndpointURL",
                        endpoint,
                        "-bundleEndpointProfile",
                        "https_web",
                        "-trustDomainBundlePath",
                        dir.resolve("missing.pem").toString());
        assertThat(wrongBundle.exit()).isEqualTo(1);
        assertThat(wrongBundle.err()).contains("missing.pem");
        assertThat(on(b, "server", "federation", "list").out())
                .startsWith("Found 0 federation relationships");
    }

    @Test
    void dataFileInSpiresFormatCreatesRelationships() throws Exception {
        Path data = dir.resolve("rels.json");
        Files.writeString(
                data,
                """
                {
                  "federationRelationships": [
                    {"trustDomain": "td-1.org", "bundleEndpointUrl": "https://td-1.org/bundle", "httpsWeb": {}},
                    {"trustDomain": "td-2.org", "bundleEndpointUrl": "https://td-2.org/bundle",
                     "httpsSpiffe": {"endpointSpiffeId": "spiffe://td-2.org/bundle-endpoint"}}
                  ]
                }
                """);
        Result r = on(b, "server", "federation", "create", "-data", data.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(on(b, "server", "federation", "list").out())
                .startsWith("Found 2 federation relationships")
                .contains("Bundle endpoint profile   : https_web")
                .contains("Endpoint SPIFFE ID        : spiffe://td-2.org/bundle-endpoint");
        Files.writeString(
                data,
                "{\"federationRelationships\": [{\"trustDomain\": \"td-3.org\", \"bundleEndpointUrl\": \"https://x\"}]}");
        Result bad = on(b, "server", "federation", "create", "-data", data.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("federationRelationships[0]").contains("httpsWeb");
    }

    @Test
    void bundleFormatsRoundTripThroughTheSpiffeType() throws Exception {
        Path f = aBundleFile();
        TrustBundle parsed =
                TrustBundle.fromJwks(TrustDomain.parse("example.org"), Files.readString(f));
        assertThat(parsed.x509Authorities()).isEqualTo(a.bundle().x509Authorities());
        assertThat(parsed.sequenceNumber()).isEqualTo(a.bundle().sequenceNumber());
        Result set =
                on(
                        b,
                        "server",
                        "bundle",
                        "set",
                        "-id",
                        "spiffe://example.org",
                        "-path",
                        f.toString(),
                        "-format",
                        "spiffe");
        assertThat(set.exit()).as(set.err()).isZero();
        Result shown = on(b, "server", "bundle", "list", "-id", "example.org", "-format", "spiffe");
        assertThat(
                        TrustBundle.fromJwks(TrustDomain.parse("example.org"), shown.out())
                                .x509Authorities())
                .isEqualTo(a.bundle().x509Authorities());
        Path garbage = dir.resolve("garbage.json");
        Files.writeString(garbage, "{\"keys\": 3}");
        Result bad =
                on(
                        b,
                        "server",
                        "bundle",
                        "set",
                        "-id",
                        "spiffe://example.org",
                        "-path",
                        garbage.toString(),
                        "-format",
                        "spiffe");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("garbage.json").contains("\"keys\" must be an array");
    }

    @Test
    void bundleDeleteModesTreatFederatingEntriesAsSpireDoes() throws Exception {
        Result early =
                on(
                        b,
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://domain.test/early",
                        "-parentID",
                        "spiffe://domain.test/node",
                        "-selector",
                        "unix:uid:9",
                        "-federatesWith",
                        "example.org");
        assertThat(early.exit()).isEqualTo(1);
        assertThat(early.err())
                .contains("federates_with \"example.org\": no bundle for that trust domain");
        assertThat(on(b, "server", "entry", "count").out()).isEqualTo("0 registration entries\n");
        assertThat(
                        on(
                                        b,
                                        "server",
                                        "bundle",
                                        "set",
                                        "-id",
                                        "spiffe://example.org",
                                        "-path",
                                        aBundleFile().toString(),
                                        "-format",
                                        "spiffe")
                                .exit())
                .isZero();
        for (String name : List.of("a", "b")) {
            Result e =
                    on(
                            b,
                            "server",
                            "entry",
                            "create",
                            "-spiffeID",
                            "spiffe://domain.test/" + name,
                            "-parentID",
                            "spiffe://domain.test/node",
                            "-selector",
                            "unix:uid:1" + name.length(),
                            "-federatesWith",
                            "example.org",
                            "-dns",
                            name + ".local");
            assertThat(e.exit()).as(e.err()).isZero();
        }
        Result restricted = on(b, "server", "bundle", "delete", "-id", "spiffe://example.org");
        assertThat(restricted.exit()).isEqualTo(1);
        assertThat(restricted.err()).contains("2 registration entries federate with it");
        assertThat(on(b, "server", "bundle", "list", "-id", "example.org").exit()).isZero();

        Result bad =
                on(
                        b,
                        "server",
                        "bundle",
                        "delete",
                        "-id",
                        "spiffe://example.org",
                        "-mode",
                        "erase");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains("not one of restrict, delete, dissociate");

        Result dissociated =
                on(
                        b,
                        "server",
                        "bundle",
                        "delete",
                        "-id",
                        "spiffe://example.org",
                        "-mode",
                        "dissociate");
        assertThat(dissociated.exit()).as(dissociated.err()).isZero();
        assertThat(on(b, "server", "entry", "count").out()).isEqualTo("2 registration entries\n");
        assertThat(on(b, "server", "entry", "show", "-federatesWith", "example.org").out())
                .doesNotContain("spiffe://domain.test/a");
        assertThat(on(b, "server", "bundle", "list", "-id", "example.org").exit()).isEqualTo(1);

        assertThat(
                        on(
                                        b,
                                        "server",
                                        "bundle",
                                        "set",
                                        "-id",
                                        "spiffe://example.org",
                                        "-path",
                                        aBundleFile().toString(),
                                        "-format",
                                        "spiffe")
                                .exit())
                .isZero();
        Result e =
                on(
                        b,
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://domain.test/c",
                        "-parentID",
                        "spiffe://domain.test/node",
                        "-selector",
                        "unix:uid:3",
                        "-federatesWith",
                        "example.org");
        assertThat(e.exit()).as(e.err()).isZero();
        Result deleted =
                on(
                        b,
                        "server",
                        "bundle",
                        "delete",
                        "-id",
                        "spiffe://example.org",
                        "-mode",
                        "delete");
        assertThat(deleted.exit()).as(deleted.err()).isZero();
        assertThat(on(b, "server", "entry", "count").out()).isEqualTo("2 registration entries\n");
        assertThat(on(b, "server", "entry", "show", "-spiffeID", "spiffe://domain.test/c").out())
                .doesNotContain("spiffe://domain.test/c");
    }
}
