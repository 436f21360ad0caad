package io.mithril.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainFamiliesTest {

    @Test
    void theNamedFamilyAloneIsBuilt() {
        CommandLine cl = Main.newCommandLine("server", "run", "-config", "x");
        assertThat(cl.getSubcommands().keySet()).containsExactlyInAnyOrder("help", "server");
    }

    @Test
    void helpOptionsAndUnknownNamesGetEveryFamily() {
        int all = Main.FAMILIES.size() + 1;
        assertThat(Main.newCommandLine().getSubcommands().keySet())
                .hasSizeGreaterThanOrEqualTo(all)
                .contains("demo", "proxy");
        assertThat(Main.newCommandLine("--help").getSubcommands())
                .hasSameSizeAs(Main.newCommandLine().getSubcommands());
        assertThat(Main.newCommandLine("sever").getSubcommands())
                .hasSameSizeAs(Main.newCommandLine().getSubcommands());
        assertThat(Main.newCommandLine("help", "server").getSubcommands())
                .hasSameSizeAs(Main.newCommandLine().getSubcommands());
    }

    @Test
    void versionNeedsNoFamilyAndAMistypedNameStillGetsSuggestions() {
        assertThat(Main.newCommandLine("--version").getSubcommands().keySet())
                .containsExactly("help");
        java.io.StringWriter err = new java.io.StringWriter();
        CommandLine cl = Main.newCommandLine("sever");
        cl.setErr(new java.io.PrintWriter(err));
        assertThat(cl.execute("sever")).isNotZero();
        assertThat(err.toString()).contains("server");
    }
}
