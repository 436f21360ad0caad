package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code trust_domain_aliases}: Istio's meshConfig.trustDomainAliases in the control plane's HCL.
 */
class ControlPlaneConfigTest {

    static Path write(Path dir, String aliases) throws Exception {
        return Files.writeString(
                dir.resolve("controlplane.conf"),
                """
                control_plane {
                  config_dir = "mesh"
                  trust_domain = "example.org"
                  %s
                }
                """
                        .formatted(aliases));
    }

    @Test
    void aliasesAreReadAndDefaultToNone(@TempDir Path dir) throws Exception {
        assertThat(ControlPlaneConfig.load(write(dir, "")).trustDomainAliases()).isEmpty();
        assertThat(
                        ControlPlaneConfig.load(
                                        write(
                                                dir,
                                                "trust_domain_aliases = [\"domain.test\", \"web.test\"]"))
                                .trustDomainAliases())
                .containsExactly(TrustDomain.parse("domain.test"), TrustDomain.parse("web.test"));
    }

    @Test
    void anAliasThatIsNotATrustDomainIsRefusedNamingTheFileAndKey(@TempDir Path dir)
            throws Exception {
        Path f = write(dir, "trust_domain_aliases = [\"Domain.Test\"]");
        assertThatThrownBy(() -> ControlPlaneConfig.load(f))
                .isInstanceOf(ControlPlaneConfigException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("trust_domain_aliases \"Domain.Test\"");
        for (String v : List.of("\"spiffe://domain.test/ns/x\"", "\"bad domain\"")) {
            Path g = write(dir, "trust_domain_aliases = [" + v + "]");
            assertThatThrownBy(() -> ControlPlaneConfig.load(g))
                    .hasMessageContaining("trust_domain_aliases");
        }
    }
}
