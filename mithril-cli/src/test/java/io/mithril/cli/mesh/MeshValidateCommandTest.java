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

    record Run(int code, String out, String err) {
    }

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
        Files.writeString(f, """
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
        Files.writeString(a, """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs}
                spec:
                  hosts: [a.example.com]
                  http: [{route: [{destination: {port: {number: 80}}}]}]
                """);
        Path b = dir.resolve("b.yaml");
        Files.writeString(b, """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa}
                spec: {mtls: {mode: STRICTER}}
                """);
        Run r = run("mesh", "validate", "-f", a.toString(), b.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains(a + ":6: document 0: VirtualService default/vs: spec.http[0].route[0].destination.host: is required")
                .contains(b + ":4: document 0: PeerAuthentication default/pa: spec.mtls.mode: unknown value \"STRICTER\"")
                .contains("Error: 2 errors found");
    }

    @Test
    void missingFileIsAUserError(@TempDir Path dir) {
        Run r = run("mesh", "validate", "-f", dir.resolve("nope.yaml").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("Error: file " + dir.resolve("nope.yaml") + " does not exist");
    }
}
