package io.mithril.cli.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mithril proxy ...} refuses bad flags with a clear {@code Error:} line before starting
 * anything.
 */
class ProxyCommandTest {

    static String[] run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        int code = cl.execute(args);
        return new String[] {Integer.toString(code), err.toString()};
    }

    @Test
    void missingConfigDirectoryIsAUserError(@TempDir Path dir) {
        String[] r =
                run(
                        "proxy",
                        "gateway",
                        "-configDir",
                        dir.resolve("nope").toString(),
                        "-label",
                        "istio=ingressgateway");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1])
                .contains("Error: -configDir " + dir.resolve("nope") + " is not a directory");
    }

    @Test
    void configDirAndControlPlaneTogetherIsAUserError(@TempDir Path dir) {
        String[] r =
                run(
                        "proxy",
                        "gateway",
                        "-configDir",
                        dir.toString(),
                        "-label",
                        "istio=ingressgateway",
                        "-controlPlane",
                        "127.0.0.1:15012",
                        "-controlPlaneID",
                        "spiffe://example.org/ns/istio-system/sa/istiod");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1])
                .contains(
                        "Error: give either -configDir DIR or -controlPlane HOST:PORT (with -controlPlaneID)");
    }

    @Test
    void gatewayWithoutLabelsIsAUserError(@TempDir Path dir) {
        String[] r = run("proxy", "gateway", "-configDir", dir.toString());
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1])
                .contains("Error: a gateway needs its labels, e.g. -label istio=ingressgateway");
    }

    @Test
    void malformedInboundPublishAndLabelAreUserErrors(@TempDir Path dir) {
        assertThat(run("proxy", "sidecar", "-configDir", dir.toString(), "-inbound", "9080")[1])
                .contains("Error: -inbound 9080: write [addr:]port=[appAddr:]appPort");
        assertThat(
                        run(
                                "proxy",
                                "gateway",
                                "-configDir",
                                dir.toString(),
                                "-label",
                                "istio=ingressgateway",
                                "-publish",
                                "x=8080")[1])
                .contains("Error: -publish x=8080: \"x\" is not a port number");
        assertThat(run("proxy", "sidecar", "-configDir", dir.toString(), "-label", "app")[1])
                .contains("Error: -label app: write key=value");
        assertThat(
                        run(
                                "proxy",
                                "sidecar",
                                "-configDir",
                                dir.toString(),
                                "-spiffeID",
                                "http://x")[1])
                .contains("Error: -spiffeID http://x:");
    }

    @Test
    void aNegativeBodyLimitIsAUserError(@TempDir Path dir) {
        String[] r =
                run(
                        "proxy",
                        "gateway",
                        "-configDir",
                        dir.toString(),
                        "-label",
                        "istio=ingressgateway",
                        "-maxBodyBytes",
                        "-1");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).contains("Error: -maxBodyBytes -1: must be 0 (no limit) or more");
    }
}
