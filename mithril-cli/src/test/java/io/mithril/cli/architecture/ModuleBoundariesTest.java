package io.mithril.cli.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The module boundaries the README states, checked on the shipped classes of every module (this
 * module's test class path holds them all): spiffe <- pki <- server/agent; spiffe <- k8s <-
 * server/agent/controlplane; spiffe <- mesh <- proxy/controlplane; cli on top. Maven's module graph
 * keeps a module from compiling against a module it does not name, but not against one it reaches
 * transitively: these rules do.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModuleBoundariesTest {

    private JavaClasses classes;

    @BeforeAll
    void importClasses() {
        classes =
                new ClassFileImporter()
                        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                        .importPackages("io.mithril");
    }

    private static String[] packages(String... modules) {
        String[] out = new String[modules.length];
        for (int i = 0; i < modules.length; i++) {
            out[i] = "io.mithril." + modules[i] + "..";
        }
        return out;
    }

    private void check(String module, String... forbidden) {
        ArchRule rule =
                noClasses()
                        .that()
                        .resideInAPackage("io.mithril." + module + "..")
                        .should()
                        .dependOnClassesThat()
                        .resideInAnyPackage(packages(forbidden))
                        .because(
                                "the README's module graph: "
                                        + module
                                        + " does not depend on "
                                        + String.join(", ", forbidden));
        rule.check(classes);
    }

    @Test
    void spiffeIsPureValues() {
        check(
                "spiffe",
                "pki",
                "hcl",
                "api",
                "k8s",
                "server",
                "agent",
                "mesh",
                "proxy",
                "controlplane",
                "cli",
                "bench",
                "samples");
    }

    @Test
    void pkiAndHclStandOnSpiffeOnly() {
        check(
                "pki",
                "hcl",
                "api",
                "server",
                "agent",
                "mesh",
                "proxy",
                "controlplane",
                "cli",
                "bench",
                "samples");
        check(
                "hcl",
                "spiffe",
                "pki",
                "api",
                "server",
                "agent",
                "mesh",
                "proxy",
                "controlplane",
                "cli",
                "bench",
                "samples");
    }

    @Test
    void kubernetesClientCodeStandsOnSpiffeOnly() {
        check(
                "k8s",
                "pki",
                "hcl",
                "api",
                "server",
                "agent",
                "mesh",
                "proxy",
                "controlplane",
                "cli",
                "bench",
                "samples");
    }

    @Test
    void wireContractsKnowNoComponent() {
        check("api", "server", "agent", "mesh", "proxy", "controlplane", "cli", "bench", "samples");
    }

    @Test
    void identitySideKnowsNothingOfTheMesh() {
        check("server", "agent", "mesh", "proxy", "controlplane", "cli", "bench", "samples");
        check("agent", "server", "mesh", "proxy", "controlplane", "cli", "bench", "samples");
    }

    @Test
    void meshSideKnowsNothingOfTheIdentityServerOrAgent() {
        check(
                "mesh",
                "pki",
                "hcl",
                "api",
                "k8s",
                "server",
                "agent",
                "proxy",
                "controlplane",
                "cli",
                "bench",
                "samples");
        check("proxy", "k8s", "server", "agent", "controlplane", "cli", "bench", "samples");
        check("controlplane", "server", "agent", "proxy", "cli", "bench", "samples");
    }

    @Test
    void samplesAreApplicationsOfTheirOwn() {
        check(
                "samples",
                "spiffe",
                "pki",
                "hcl",
                "api",
                "k8s",
                "server",
                "agent",
                "mesh",
                "proxy",
                "controlplane",
                "cli",
                "bench");
    }

    @Test
    void dashboardReadsTheComponentsThroughTheirApis() {
        check("dashboard", "agent", "mesh", "proxy", "controlplane", "cli", "bench", "samples");
        for (String m :
                List.of(
                        "spiffe",
                        "pki",
                        "hcl",
                        "api",
                        "server",
                        "agent",
                        "mesh",
                        "proxy",
                        "controlplane",
                        "bench",
                        "samples")) {
            check(m, "dashboard");
        }
    }

    @Test
    void nothingButTheCliDependsOnTheCli() {
        check("bench", "cli");
    }
}
