package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LogSettingsTest {

    private static LogSettings read(String block) throws HclException {
        return LogSettings.read(
                Hcl.parse("server {\n" + block + "\n}\n", "server.conf").object("server").get());
    }

    @Test
    void absentKeysMeanTextOnStderr() throws HclException {
        assertThat(read("trust_domain = \"example.org\"")).isEqualTo(LogSettings.DEFAULT);
    }

    @Test
    void spireSpellingsAreRead() throws HclException {
        assertThat(
                        read(
                                "log_format = \"JSON\"\nlog_file = \"/var/log/spire.log\"\n"
                                        + "log_source_location = true"))
                .isEqualTo(new LogSettings(true, Optional.of(Path.of("/var/log/spire.log")), true));
        assertThat(read("log_format = \"text\"").json()).isFalse();
        assertThat(read("log_file = \"\"").file()).isEmpty();
    }

    @Test
    void anUnknownFormatNamesItsPlace() {
        assertThatThrownBy(() -> read("log_format = \"logfmt\""))
                .isInstanceOf(HclException.class)
                .hasMessage("server.conf:2:1: log_format \"logfmt\" is not \"text\" or \"json\"");
    }
}
