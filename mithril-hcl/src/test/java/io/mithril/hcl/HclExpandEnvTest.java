package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HclExpandEnvTest {

    @TempDir Path dir;

    @Test
    void expandEnvReplacesBothFormsAndUnsetBecomesEmpty() {
        assertThat(Hcl.expandEnv("a=${X}/b $Y/c $NOPE.", Map.of("X", "1", "Y", "2")))
                .isEqualTo("a=1/b 2/c .");
    }

    @Test
    void parseFileWithEnvExpandsBeforeParsingAndWithoutEnvLeavesTextAlone() throws Exception {
        Path f = dir.resolve("agent.conf");
        Files.writeString(f, "agent {\n  data_dir = \"${DEMO_DIR}/agent\"\n}\n");
        assertThat(
                        Hcl.parseFile(f, Map.of("DEMO_DIR", "/tmp/d"))
                                .object("agent")
                                .orElseThrow()
                                .string("data_dir", ""))
                .isEqualTo("/tmp/d/agent");
        assertThat(Hcl.parseFile(f).object("agent").orElseThrow().string("data_dir", ""))
                .isEqualTo("${DEMO_DIR}/agent");
    }
}
