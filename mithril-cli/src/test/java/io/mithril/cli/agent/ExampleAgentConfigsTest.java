package io.mithril.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every agent.conf shipped under examples/ parses, after -expandEnv expansion as the demo runs
 * them.
 */
class ExampleAgentConfigsTest {

    @Test
    void shippedAgentConfigsParse() throws Exception {
        Path examples = Path.of("..", "examples");
        List<Path> confs;
        try (Stream<Path> walk = Files.walk(examples)) {
            confs = walk.filter(p -> p.getFileName().toString().equals("agent.conf")).toList();
        }
        assertThat(confs).isNotEmpty();
        for (Path conf : confs) {
            AgentConfig c = AgentConfigParser.parseFile(conf, Map.of("DEMO_DIR", "/tmp/demo"));
            assertThat(c.trustDomain().name()).as(conf.toString()).isEqualTo("example.org");
            assertThat(c.socketPath().toString()).as(conf.toString()).startsWith("/tmp/demo/");
        }
    }
}
