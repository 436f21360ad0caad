package io.mithril.cli.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code server validate} and {@code agent validate} ({@code spire-server validate}, {@code
 * spire-agent validate}) with {@code run}'s command-line overrides, which replace the file's keys
 * and are checked as those keys are.
 */
class ValidateCommandsTest {

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    static Path agentConf(Path dir) throws Exception {
        return Files.writeString(
                dir.resolve("agent.conf"),
                """
                agent {
                    data_dir = "./.data"
                    server_address = "127.0.0.1"
                    server_port = "8081"
                    trust_domain = "example.org"
                    rebootstrap_mode = "never"
                    rebootstrap_delay = "10m"
                }
                plugins {
                    NodeAttestor "join_token" { plugin_data {} }
                    KeyManager "memory" { plugin_data {} }
                }
                """);
    }

    static Path serverConf(Path dir) throws Exception {
        return Files.writeString(
                dir.resolve("server.conf"),
                """
                server {
                    bind_address = "127.0.0.1"
                    bind_port = "8081"
                    trust_domain = "example.org"
                    data_dir = "./.data"
                }
                plugins {
                    DataStore "sql" { plugin_data { database_type = "sqlite3"
                        connection_string = "./.data/datastore.sqlite3" } }
                    KeyManager "memory" { plugin_data {} }
                    NodeAttestor "join_token" { plugin_data {} }
                }
                telemetry {
                    Prometheus { port = 9988 }
                    Statsd = [ { address = "localhost:8125" } ]
                }
                """);
    }

    @Test
    void agentValidateSaysValidAsSpireDoes(@TempDir Path dir) throws Exception {
        Run r = run("agent", "validate", "-config", agentConf(dir).toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("SPIRE agent configuration file is valid.");
    }

    @Test
    void agentFlagsOverrideTheFileAndAreCheckedLikeIt(@TempDir Path dir) throws Exception {
        Path conf = agentConf(dir);
        assertThat(
                        run(
                                        "agent",
                                        "validate",
                                        "-config",
                                        conf.toString(),
                                        "-serverPort",
                                        "8443",
                                        "-dataDir",
                                        dir.toString(),
                                        "-trustDomain",
                                        "other.org",
                                        "-serverAddress",
                                        "spire.example.org")
                                .code())
                .isZero();
        Run bad = run("agent", "validate", "-config", conf.toString(), "-serverPort", "70000");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err())
                .contains(
                        "SPIRE agent configuration file is invalid: -serverPort flag: server_port 70000 is not a port number");
        Run td =
                run("agent", "validate", "-config", conf.toString(), "-trustDomain", "Example.org");
        assertThat(td.err())
                .contains("-trustDomain flag: trust_domain")
                .contains("write it in lowercase");
        Run both =
                run(
                        "agent",
                        "validate",
                        "-config",
                        conf.toString(),
                        "-trustBundle",
                        "ca.pem",
                        "-insecureBootstrap");
        assertThat(both.err())
                .contains(
                        "-insecureBootstrap flag: trust_bundle_path and insecure_bootstrap are mutually exclusive");
        Run mode =
                run("agent", "validate", "-config", conf.toString(), "-rebootstrapMode", "always");
        assertThat(mode.err())
                .contains("-rebootstrapMode flag: rebootstrap_mode \"always\" is not supported");
    }

    @Test
    void agentJoinTokenFileIsRead(@TempDir Path dir) throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "  6a1b-token \n");
        assertThat(
                        run(
                                        "agent",
                                        "validate",
                                        "-config",
                                        agentConf(dir).toString(),
                                        "-joinTokenFile",
                                        token.toString())
                                .code())
                .isZero();
        Run missing =
                run(
                        "agent",
                        "validate",
                        "-config",
                        agentConf(dir).toString(),
                        "-joinTokenFile",
                        dir.resolve("none").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("-joinTokenFile").contains("not a readable file");
    }

    @Test
    void agentValidateNamesFileLineAndColumnOfABadKey(@TempDir Path dir) throws Exception {
        Path conf =
                Files.writeString(
                        dir.resolve("agent.conf"),
                        Files.readString(agentConf(dir))
                                .replace(
                                        "rebootstrap_mode = \"never\"",
                                        "rebootstrap_mode = \"sometimes\""));
        Run r = run("agent", "validate", "-config", conf.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err())
                .contains(
                        conf
                                + ":6:5: rebootstrap_mode \"sometimes\" is not one of never, auto, always");
    }

    @Test
    void serverValidateAppliesRunFlags(@TempDir Path dir) throws Exception {
        Path conf = serverConf(dir);
        Run ok =
                run(
                        "server",
                        "validate",
                        "-config",
                        conf.toString(),
                        "-serverPort",
                        "9081",
                        "-bindAddress",
                        "0.0.0.0",
                        "-dataDir",
                        dir.toString(),
                        "-trustDomain",
                        "example.com",
                        "-logLevel",
                        "DEBUG");
        assertThat(ok.code()).isZero();
        assertThat(ok.out()).contains("SPIRE server configuration file is valid.");
        Run bad = run("server", "validate", "-config", conf.toString(), "-serverPort", "-1");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err())
                .contains(
                        "SPIRE server configuration file is invalid: -serverPort flag: bind_port -1 is not a port number");
        Run level = run("server", "validate", "-config", conf.toString(), "-logLevel", "LOUD");
        assertThat(level.err())
                .contains(
                        "-logLevel flag: log_level \"LOUD\" is not one of DEBUG, INFO, WARN, ERROR");
        Run none = run("server", "validate", "-config", dir.resolve("nope.conf").toString());
        assertThat(none.code()).isEqualTo(1);
        assertThat(none.err()).contains("could not find config file");
    }

    @Test
    void helpShowsTheEnvironmentVariablesDescriptionsReferTo() {
        for (String cmd : List.of("agent", "server")) {
            Run r = run(cmd, "run", "--help");
            assertThat(r.out())
                    .as(cmd)
                    .contains("($VAR, ${VAR})")
                    .doesNotContain("null")
                    .contains("MITHRIL_LOG_LEVEL")
                    .contains("MITHRIL_DEBUG")
                    .contains("MITHRIL_JAVA_OPTS");
        }
        assertThat(run("controlplane", "run", "--help").out()).contains("${VAR}");
    }
}
