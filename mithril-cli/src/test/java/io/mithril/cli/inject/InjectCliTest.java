package io.mithril.cli.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.registrar.RegistrarCliTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mithril inject webhook}: its TLS files are checked before anything listens (keys made by
 * the real openssl).
 */
class InjectCliTest {

    @TempDir Path dir;

    private void openssl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("openssl"));
        cmd.addAll(List.of(args));
        Process p =
                new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
    }

    @Test
    void aKeyThatIsNotTheCertificatesAndMissingFilesAreRefused() throws Exception {
        openssl(
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "a.key",
                "-out",
                "a.pem",
                "-subj",
                "/CN=mithril-injector.istio-system.svc",
                "-days",
                "1");
        openssl(
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "b.key");
        var mismatch =
                RegistrarCliTest.run(
                        "inject",
                        "webhook",
                        "-tlsCertFile",
                        dir.resolve("a.pem").toString(),
                        "-tlsKeyFile",
                        dir.resolve("b.key").toString(),
                        "-proxyImage",
                        "mithril:dev");
        assertThat(mismatch.exit()).isNotZero();
        assertThat(mismatch.err()).contains("is not the key of the certificate");
        var missing =
                RegistrarCliTest.run(
                        "inject",
                        "webhook",
                        "-tlsCertFile",
                        dir.resolve("none.pem").toString(),
                        "-tlsKeyFile",
                        dir.resolve("a.key").toString(),
                        "-proxyImage",
                        "mithril:dev");
        assertThat(missing.exit()).isNotZero();
        assertThat(missing.err()).contains("-tlsCertFile " + dir.resolve("none.pem"));
        var noImage =
                RegistrarCliTest.run(
                        "inject",
                        "webhook",
                        "-tlsCertFile",
                        dir.resolve("a.pem").toString(),
                        "-tlsKeyFile",
                        dir.resolve("a.key").toString());
        assertThat(noImage.exit()).isNotZero();
        assertThat(noImage.err()).contains("-proxyImage");
    }
}
