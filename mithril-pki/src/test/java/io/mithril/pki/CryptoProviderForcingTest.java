package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The provider is chosen once per process, so forcing it is tested in child JVMs. */
class CryptoProviderForcingTest {

    static String runChild(String property) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd =
                property == null
                        ? List.of(
                                java,
                                "-cp",
                                System.getProperty("java.class.path"),
                                PrintCryptoProvider.class.getName())
                        : List.of(
                                java,
                                "-D" + CryptoProvider.PROPERTY + "=" + property,
                                "-cp",
                                System.getProperty("java.class.path"),
                                PrintCryptoProvider.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return out;
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void propertyForcesTheJdkProviderAndTheChoiceIsLogged() throws Exception {
        String out = runChild("jdk");
        assertThat(out)
                .contains("chosen=jdk")
                .contains("crypto provider: JDK")
                .contains("forced by -Dmithril.crypto.provider=jdk");
    }

    @Test
    void propertyForcesEachAvailableNativeProvider() throws Exception {
        for (CryptoProvider p : CryptoProvider.available()) {
            assertThat(runChild(p.id())).contains("chosen=" + p.id());
        }
    }

    @Test
    void withoutPropertyTheFirstAvailableProviderIsChosen() throws Exception {
        assertThat(runChild(null)).contains("chosen=" + CryptoProvider.available().get(0).id());
    }

    @Test
    void unknownForcedValueFailsNamingTheAllowedValues() throws Exception {
        assertThat(runChild("openssl"))
                .contains("error=system property mithril.crypto.provider=openssl:")
                .contains("allowed values are jdk, accp, conscrypt");
    }
}
