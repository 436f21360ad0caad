package io.mithril.cli.registrar;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mithril registrar run}: bad input is refused with a message naming the flag, before
 * anything starts.
 */
public class RegistrarCliTest {

    @TempDir Path dir;

    public record Result(int exit, String out, String err) {}

    public static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Result(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void requiredFlagsAndBadValuesAreNamed() {
        Result missing = run("registrar", "run", "-clusterName", "demo-cluster");
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err()).contains("-trustDomain");
        Result badTd =
                run(
                        "registrar",
                        "run",
                        "-trustDomain",
                        "Not A Domain",
                        "-clusterName",
                        "demo-cluster");
        assertThat(badTd.exit()).isNotZero();
        assertThat(badTd.err()).contains("-trustDomain Not A Domain");
        Result badCluster =
                run("registrar", "run", "-trustDomain", "example.org", "-clusterName", "a/b");
        assertThat(badCluster.exit()).isNotZero();
        assertThat(badCluster.err()).contains("-clusterName a/b");
        Result noServer =
                run(
                        "registrar",
                        "run",
                        "-trustDomain",
                        "example.org",
                        "-clusterName",
                        "demo-cluster",
                        "-socketPath",
                        dir.resolve("nothing.sock").toString());
        assertThat(noServer.exit()).isNotZero();
        assertThat(noServer.err()).contains("no admin socket there");
    }

    @Test
    void theCommandIsListed() {
        assertThat(run("--help").out()).contains("registrar");
        assertThat(run("registrar", "run", "--help").out())
                .contains("-clusterName", "-trustDomain", "-socketPath", "-kubeconfig");
    }
}
