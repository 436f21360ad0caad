package io.mithril.cli.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code mithril mesh validate -f FILE...}: every error printed, non-zero exit. */
class MeshValidateCommandTest {

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void validFileIsReportedValidAndExitsZero(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("dr.yaml");
        Files.writeString(
                f,
                """
                apiVersion: networking.istio.io/v1alpha3
                kind: DestinationRule
                metadata: {name: enable-mtls}
                spec: {host: "*.svc.cluster.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
                """);
        Run r = run("mesh", "validate", "-f", f.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("\"" + f + "\" is valid").contains("1 resource validated");
    }

    @Test
    void everyErrorOfEveryFileIsPrintedAndTheExitIsNonZero(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.yaml");
        Files.writeString(
                a,
                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: [a.example.com]
                  http: [{route: [{destination: {port: {number: 80}}}]}]
                """);
        Path b = dir.resolve("b.yaml");
        Files.writeString(
                b,
                """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa}
                spec: {mtls: {mode: STRICTER}}
                """);
        Run r = run("mesh", "validate", "-f", a.toString(), b.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err())
                .contains(
                        a
                                + ":6: document 0: VirtualService default/vs: spec.http[0].route[0].destination.host: is required")
                .contains(
                        b
                                + ":4:15: document 0: PeerAuthentication default/pa: spec.mtls.mode: unknown value \"STRICTER\"")
                .contains("Error: 2 errors found");
    }

    @Test
    void missingFileIsAUserError(@TempDir Path dir) {
        Run r = run("mesh", "validate", "-f", dir.resolve("nope.yaml").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("Error: file " + dir.resolve("nope.yaml") + " does not exist");
    }

    @Test
    void directoriesAreWalkedRecursivelyForJsonAndYamlAsIstioctlDoes(@TempDir Path dir)
            throws Exception {
        Path nested = Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(
                dir.resolve("top.yaml"),
                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: one}
                spec: {host: one.example.com}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: two}
                spec: {host: two.example.com}
                """);
        // JSON indented with tabs, as kubectl reads it (YAML 1.1 parsers refuse tabs).
        Files.writeString(
                nested.resolve("se.json"),
                "{\n\t\"apiVersion\": \"networking.istio.io/v1\",\n\t\"kind\": \"ServiceEntry\",\n"
                        + "\t\"metadata\": {\"name\": \"ext\"},\n\t\"spec\": {\n\t\t\"hosts\": [\"api.example.com\"],\n"
                        + "\t\t\"resolution\": \"DNS\",\n\t\t\"ports\": [{\"number\": 443, \"name\": \"https\", \"protocol\": \"TLS\"}]\n\t}\n}\n");
        Files.writeString(nested.resolve("notes.txt"), "not configuration");
        Run r = run("mesh", "validate", "-f", dir.toString());
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        assertThat(r.out())
                .contains("\"" + nested.resolve("se.json") + "\" is valid")
                .contains("\"" + dir.resolve("top.yaml") + "\" is valid")
                .doesNotContain("notes.txt")
                .contains("3 resources validated");
    }

    @Test
    void anErrorInANestedJsonFileNamesFileAndLine(@TempDir Path dir) throws Exception {
        Path nested = Files.createDirectories(dir.resolve("deep"));
        Files.writeString(
                nested.resolve("we.json"),
                "{\n\t\"apiVersion\": \"networking.istio.io/v1\",\n"
                        + "\t\"kind\": \"WorkloadEntry\",\n\t\"metadata\": {\"name\": \"vm\"},\n"
                        + "\t\"spec\": {\"address\": \"unix:///var/run/app.sock\", \"ports\": {\"http\": 8080}}\n}\n");
        Run r = run("mesh", "validate", "-f", dir.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err())
                .contains(
                        nested.resolve("we.json")
                                + ":5:50: document 0: WorkloadEntry default/vm: spec.ports: "
                                + "unix endpoint unix:///var/run/app.sock must not include ports");
    }

    @Test
    void istioWarningsArePrintedAndTheExitIsZero(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("se.yaml");
        Files.writeString(
                f,
                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: db}
                spec:
                  hosts: [db.example.com]
                  resolution: DNS
                  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
                """);
        Run r = run("mesh", "validate", "-f", f.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out())
                .contains("\"" + f + "\" has warnings:")
                .contains("addresses are required for ports serving TCP (or unset) protocol")
                .contains("1 resource validated");
    }
}
