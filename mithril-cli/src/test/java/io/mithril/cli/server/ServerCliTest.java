package io.mithril.cli.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import io.mithril.server.IdentityServer;
import io.mithril.server.config.ServerConfig;
import io.mithril.spiffe.id.TrustDomain;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The {@code mithril server ...} admin commands against a real server over its admin socket. */
class ServerCliTest {

    @TempDir Path dir;
    IdentityServer server;
    String socket;

    record Result(int exit, String out, String err) {}

    @BeforeEach
    void start() throws Exception {
        server =
                IdentityServer.start(
                        ServerConfig.builder(TrustDomain.parse("example.org"), dir)
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(dir.resolve("private/api.sock"))
                                .rotationCheckInterval(Duration.ofHours(1))
                                .build());
        socket = server.adminSocketPath().toString();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    Result admin(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("-socketPath");
        all.add(socket);
        return run(all.toArray(String[]::new));
    }

    static String group(String regex, String text) {
        Matcher m = Pattern.compile(regex, Pattern.MULTILINE).matcher(text);
        assertThat(m.find()).as("%s in %s", regex, text).isTrue();
        return m.group(1);
    }

    @Test
    void entryCreatePrintsTheEntryLikeSpireServer() {
        Result r =
                admin(
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://example.org/ns/default/sa/sleep",
                        "-parentID",
                        "spiffe://example.org/node",
                        "-selector",
                        "unix:uid:1000",
                        "-x509SVIDTTL",
                        "600",
                        "-dns",
                        "sleep.local");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .containsPattern("(?m)^Entry ID         : [0-9a-f-]{36}$")
                .contains("SPIFFE ID        : spiffe://example.org/ns/default/sa/sleep\n")
                .contains("Parent ID        : spiffe://example.org/node\n")
                .contains("Revision         : 0\n")
                .contains("X509-SVID TTL    : 600\n")
                .contains("JWT-SVID TTL     : default\n")
                .contains("Selector         : unix:uid:1000\n")
                .contains("DNS name         : sleep.local\n");
    }

    @Test
    void entryCreateDataReadsSpireRegistrationJson() throws Exception {
        // SPIRE's own fixture format (test/fixture/registration/good.json): spire-server entry
        // create -data FILE
        Path data = dir.resolve("entries.json");
        java.nio.file.Files.writeString(
                data,
                """
                {"entries": [
                  {"selectors": [{"type": "unix", "value": "uid:1111"}], "spiffe_id": "spiffe://example.org/Blog",
                   "parent_id": "spiffe://example.org/node", "x509_svid_ttl": 200, "jwt_svid_ttl": 30, "admin": true},
                  {"selectors": [{"type": "unix", "value": "uid:1111"}], "spiffe_id": "spiffe://example.org/Database",
                   "parent_id": "spiffe://example.org/node", "dns_names": ["db.local"], "hint": "db"}
                ]}
                """);
        Result r = admin("server", "entry", "create", "-data", data.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("SPIFFE ID        : spiffe://example.org/Blog\n")
                .contains("X509-SVID TTL    : 200\n")
                .contains("JWT-SVID TTL     : 30\n")
                .contains("SPIFFE ID        : spiffe://example.org/Database\n")
                .contains("DNS name         : db.local\n");
        assertThat(admin("server", "entry", "count").out()).isEqualTo("2 registration entries\n");

        // Again: both exist; each failure is reported as SPIRE does and the exit is 1; nothing more
        // is stored.
        Result again = admin("server", "entry", "create", "-data", data.toString());
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err())
                .contains("Failed to create the following entry (code: ALREADY_EXISTS")
                .contains("spiffe://example.org/Blog");
        assertThat(admin("server", "entry", "count").out()).isEqualTo("2 registration entries\n");

        // Malformed JSON names the file, line and column; an unknown key names the entry and the
        // key.
        java.nio.file.Files.writeString(data, "{\"entries\": [\n  {\"spiffe_id\": }\n]}");
        Result bad = admin("server", "entry", "create", "-data", data.toString());
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).contains(data + ":2:").contains("not valid JSON");
        java.nio.file.Files.writeString(
                data,
                "{\"entries\": [{\"spiffe_id\": \"spiffe://example.org/x\", \"parent_id\": "
                        + "\"spiffe://example.org/node\", \"selector\": [{\"type\": \"unix\", \"value\": \"uid:1\"}]}]}");
        Result unknown = admin("server", "entry", "create", "-data", data.toString());
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err()).contains("entries[0]: unknown key \"selector\"");
        assertThat(admin("server", "entry", "count").out()).isEqualTo("2 registration entries\n");
    }

    @Test
    void duplicateEntryIsAnErrorAndStoresNothing() {
        String[] args = {
            "server",
            "entry",
            "create",
            "-spiffeID",
            "spiffe://example.org/a",
            "-parentID",
            "spiffe://example.org/node",
            "-selector",
            "unix:uid:1"
        };
        String id = group("^Entry ID\\s+: (\\S+)$", admin(args).out());
        Result again = admin(args);
        assertThat(again.exit()).isEqualTo(1);
        // the refusal names the entry that exists, as SPIRE's BatchCreateEntry result carries it
        assertThat(again.err())
                .startsWith("Error: ")
                .contains("already exists")
                .contains("(entry ID " + id + ")");
        assertThat(admin("server", "entry", "count").out()).isEqualTo("1 registration entry\n");
    }

    @Test
    void entryWithForeignTrustDomainOrNoSelectorIsRejected() {
        Result foreign =
                admin(
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://other.org/a",
                        "-parentID",
                        "spiffe://example.org/node",
                        "-selector",
                        "unix:uid:1");
        assertThat(foreign.exit()).isEqualTo(1);
        assertThat(foreign.err()).contains("not in trust domain \"example.org\"");
        Result noSelector =
                admin(
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://example.org/a",
                        "-parentID",
                        "spiffe://example.org/node");
        assertThat(noSelector.exit()).isEqualTo(1);
        assertThat(noSelector.err()).contains("selector");
        Result malformed =
                admin(
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://example.org/a/../b",
                        "-parentID",
                        "spiffe://example.org/node",
                        "-selector",
                        "unix:uid:1");
        assertThat(malformed.exit()).isEqualTo(1);
        assertThat(admin("server", "entry", "count").out()).isEqualTo("0 registration entries\n");
    }

    @Test
    void entryShowFiltersAndUpdateAndDeleteWork() {
        String id =
                group(
                        "^Entry ID\\s+: (\\S+)$",
                        admin(
                                        "server",
                                        "entry",
                                        "create",
                                        "-spiffeID",
                                        "spiffe://example.org/a",
                                        "-parentID",
                                        "spiffe://example.org/node",
                                        "-selector",
                                        "unix:uid:1")
                                .out());
        admin(
                "server",
                "entry",
                "create",
                "-spiffeID",
                "spiffe://example.org/b",
                "-parentID",
                "spiffe://example.org/node",
                "-selector",
                "unix:uid:2");
        Result show = admin("server", "entry", "show", "-spiffeID", "spiffe://example.org/a");
        assertThat(show.out()).startsWith("Found 1 entry\n").contains("Entry ID         : " + id);
        assertThat(admin("server", "entry", "show", "-selector", "unix:uid:2").out())
                .contains("spiffe://example.org/b")
                .doesNotContain("spiffe://example.org/a\n");
        assertThat(admin("server", "entry", "show").out()).startsWith("Found 2 entries\n");

        Result upd =
                admin(
                        "server",
                        "entry",
                        "update",
                        "-entryID",
                        id,
                        "-selector",
                        "unix:uid:9",
                        "-x509SVIDTTL",
                        "120");
        assertThat(upd.exit()).as(upd.err()).isZero();
        assertThat(upd.out())
                .contains("Revision         : 1\n")
                .contains("Selector         : unix:uid:9\n")
                .contains("SPIFFE ID        : spiffe://example.org/a\n");

        Result del = admin("server", "entry", "delete", "-entryID", id);
        assertThat(del.out()).isEqualTo("Deleted entry with ID: " + id + "\n");
        assertThat(admin("server", "entry", "count").out()).isEqualTo("1 registration entry\n");
        Result missing = admin("server", "entry", "delete", "-entryID", id);
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("no entry with ID");
    }

    @Test
    void entryShowJsonIsParseable() throws Exception {
        admin(
                "server",
                "entry",
                "create",
                "-spiffeID",
                "spiffe://example.org/a",
                "-parentID",
                "spiffe://example.org/node",
                "-selector",
                "unix:uid:1");
        String json = admin("server", "entry", "show", "-output", "json").out();
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertThat(node.path("entries").get(0).path("spiffe_id").asText())
                .isEqualTo("spiffe://example.org/a");
    }

    @Test
    void entryCreateDownstreamIsStoredAndShown() throws Exception {
        Result r =
                admin(
                        "server",
                        "entry",
                        "create",
                        "-spiffeID",
                        "spiffe://example.org/cluster1/mithril-server",
                        "-parentID",
                        "spiffe://example.org/node",
                        "-selector",
                        "unix:uid:0",
                        "-downstream");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Downstream       : true\n");
        String id = group("^Entry ID\\s*: (\\S+)$", r.out());
        assertThat(admin("server", "entry", "show", "-entryID", id).out())
                .contains("Downstream       : true\n");
        String json = admin("server", "entry", "show", "-entryID", id, "-output", "json").out();
        var node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertThat(node.path("entries").get(0).path("downstream").asBoolean()).isTrue();
    }

    @Test
    void tokenGenerateWithSpiffeIdRegistersTheNodeAlias() {
        Result r =
                admin(
                        "server",
                        "token",
                        "generate",
                        "-spiffeID",
                        "spiffe://example.org/cluster1/node",
                        "-ttl",
                        "600");
        assertThat(r.exit()).as(r.err()).isZero();
        String token = group("^Token: ([0-9a-f-]{36})$", r.out());
        Result alias =
                admin("server", "entry", "show", "-spiffeID", "spiffe://example.org/cluster1/node");
        assertThat(alias.out())
                .contains("Parent ID        : spiffe://example.org/spire/agent/join_token/" + token)
                .contains(
                        "Selector         : spiffe_id:spiffe://example.org/spire/agent/join_token/"
                                + token);
    }

    @Test
    void bundleShowPrintsPemByDefaultAndJwksWithFormatSpiffe() throws Exception {
        Result pem = admin("server", "bundle", "show");
        assertThat(pem.out())
                .startsWith("-----BEGIN CERTIFICATE-----\n")
                .contains("-----END CERTIFICATE-----\n");
        assertThat(io.mithril.pki.Pem.readCertificates(pem.out()))
                .containsExactlyElementsOf(server.bundle().x509Authorities());
        var jwks =
                new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(admin("server", "bundle", "show", "-format", "spiffe").out());
        assertThat(jwks.path("keys").get(0).path("use").asText()).isEqualTo("x509-svid");
        assertThat(jwks.path("keys").get(1).path("use").asText()).isEqualTo("jwt-svid");
        assertThat(jwks.has("spiffe_sequence")).isTrue();
    }

    @Test
    void federatedBundleCanBeSetListedAndDeleted() throws Exception {
        Path other = dir.resolve("other.pem");
        Files.writeString(
                other, admin("server", "bundle", "show").out()); // any CA certificate will do
        Result set =
                admin(
                        "server",
                        "bundle",
                        "set",
                        "-id",
                        "spiffe://domain.test",
                        "-path",
                        other.toString());
        assertThat(set.exit()).as(set.err()).isZero();
        assertThat(set.out()).isEqualTo("bundle set.\n");
        Result list = admin("server", "bundle", "list");
        assertThat(list.out())
                .startsWith(
                        "****************************************\n* spiffe://domain.test\n****************************************\n-----BEGIN CERTIFICATE-----");
        Result own =
                admin(
                        "server",
                        "bundle",
                        "set",
                        "-id",
                        "spiffe://example.org",
                        "-path",
                        other.toString());
        assertThat(own.exit()).isEqualTo(1);
        assertThat(own.err()).contains("own trust domain");
        assertThat(admin("server", "bundle", "delete", "-id", "spiffe://domain.test").out())
                .isEqualTo("bundle deleted.\n");
        assertThat(admin("server", "bundle", "list").out()).isEmpty();
    }

    @Test
    void agentListShowsNoAgentsAndEvictOfUnknownAgentFails() {
        assertThat(admin("server", "agent", "list").out()).isEqualTo("No attested agents found\n");
        Result evict =
                admin(
                        "server",
                        "agent",
                        "evict",
                        "-spiffeID",
                        "spiffe://example.org/spire/agent/join_token/x");
        assertThat(evict.exit()).isEqualTo(1);
        assertThat(evict.err()).contains("no agent");
    }

    @Test
    void agentListAndShowPrintCanReattestAndTheLastSync() throws Exception {
        Files.writeString(dir.resolve("bundle.pem"), server.bundle().toPem());
        String token =
                server.generateJoinToken(
                        Duration.ofMinutes(5),
                        io.mithril.spiffe.id.SpiffeId.parse("spiffe://example.org/node"));
        try (io.mithril.agent.Agent agent =
                io.mithril.agent.Agent.start(
                        io.mithril.agent.config.AgentConfig.of(
                                        TrustDomain.parse("example.org"),
                                        dir.resolve("agent/data"),
                                        "127.0.0.1",
                                        server.agentApiAddress().getPort(),
                                        dir.resolve("agent/api.sock"),
                                        dir.resolve("bundle.pem"),
                                        token)
                                .withSyncInterval(Duration.ofMillis(200)))) {
            String list = "";
            for (int i = 0; i < 50 && !list.contains("Last sync        : 20"); i++) {
                Thread.sleep(100);
                list = admin("server", "agent", "list").out();
            }
            assertThat(list)
                    .startsWith("Found 1 attested agent:\n\n")
                    .containsPattern(
                            "(?m)^SPIFFE ID        : spiffe://example.org/spire/agent/join_token/[0-9a-f-]+$")
                    .contains("Attestation type : join_token\n")
                    .contains("Can re-attest    : false\n")
                    .containsPattern("(?m)^Last sync        : \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z$");
            String id = group("(?m)^SPIFFE ID        : (\\S+)$", list);
            assertThat(admin("server", "agent", "show", "-spiffeID", id).out())
                    .startsWith("Found an attested agent given its SPIFFE ID\n")
                    .containsPattern("(?m)^Last sync        : \\d{4}-");
        }
    }

    @Test
    void localauthorityShowsActivePreparedAndOldAsSpireServer() throws Exception {
        java.util.concurrent.atomic.AtomicReference<java.time.Instant> now =
                new java.util.concurrent.atomic.AtomicReference<>(java.time.Instant.now());
        Path d = dir.resolve("rotating");
        try (IdentityServer rotating =
                IdentityServer.start(
                        ServerConfig.builder(TrustDomain.parse("example.org"), d)
                                .bindAddress("127.0.0.1")
                                .bindPort(0)
                                .socketPath(d.resolve("private/api.sock"))
                                .rotationCheckInterval(Duration.ofHours(1))
                                .caTtl(Duration.ofHours(6))
                                .clock(
                                        ((java.time.InstantSource) now::get)
                                                .withZone(java.time.ZoneOffset.UTC))
                                .build())) {
            String sock = d.resolve("private/api.sock").toString();
            Result x509 = run("server", "localauthority", "x509", "show", "-socketPath", sock);
            assertThat(x509.exit()).as(x509.err()).isZero();
            assertThat(x509.out())
                    .containsPattern(
                            "(?m)^Active X.509 authority:\n  Authority ID: [0-9a-f]{40}\n  Expires at: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC\n"
                                    + "  Upstream authority ID: No upstream authority$")
                    .contains("Prepared X.509 authority:\n  No prepared X.509 authority found\n")
                    .endsWith("Old X.509 authority:\n  No old X.509 authority found\n");
            String first = group("Active X.509 authority:\n  Authority ID: (\\S+)", x509.out());
            String firstKid =
                    group(
                            "Active JWT authority:\n  Authority ID: (\\S+)",
                            run("server", "localauthority", "jwt", "show", "-socketPath", sock)
                                    .out());

            now.updateAndGet(t -> t.plus(Duration.ofHours(3).plusMinutes(1))); // prepare
            rotating.caManager().rotate();
            assertThat(run("server", "localauthority", "x509", "show", "-socketPath", sock).out())
                    .containsPattern("Prepared X.509 authority:\n  Authority ID: [0-9a-f]{40}\n");
            now.updateAndGet(t -> t.plus(Duration.ofHours(2))); // activate: the first is old
            rotating.caManager().rotate();
            assertThat(run("server", "localauthority", "x509", "show", "-socketPath", sock).out())
                    .contains("Prepared X.509 authority:\n  No prepared X.509 authority found\n")
                    .contains("Old X.509 authority:\n  Authority ID: " + first + "\n");
            assertThat(run("server", "localauthority", "jwt", "show", "-socketPath", sock).out())
                    .contains("Old JWT authority:\n  Authority ID: " + firstKid + "\n");
        }
    }

    @Test
    void healthcheckSaysHealthyAndFailsWithoutServer() {
        assertThat(admin("server", "healthcheck").out()).isEqualTo("Server is healthy.\n");
        Result none =
                run("server", "healthcheck", "-socketPath", dir.resolve("nothing.sock").toString());
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.err()).startsWith("Server is unhealthy: ");
    }
}
