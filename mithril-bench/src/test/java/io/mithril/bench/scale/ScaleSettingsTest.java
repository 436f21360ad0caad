package io.mithril.bench.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScaleSettingsTest {

    @Test
    void absentFlagsKeepTheDefaults() {
        assertThat(ScaleSettings.from(Map.of())).isEqualTo(ScaleSettings.DEFAULTS);
        assertThat(ScaleSettings.DEFAULTS.syncInterval())
                .isEqualTo(Duration.ofSeconds(5)); // SPIRE's default sync interval
    }

    @Test
    void flagsOverrideAndTheSvidTtlIsTwiceTheWindow() {
        ScaleSettings s =
                ScaleSettings.from(
                        Map.of(
                                "agents",
                                "5000",
                                "entries",
                                "50000",
                                "syncSeconds",
                                "2.5",
                                "scaleSeconds",
                                "90",
                                "failoverAgents",
                                "0"));
        assertThat(s.agents()).isEqualTo(5000);
        assertThat(s.entries()).isEqualTo(50_000);
        assertThat(s.syncInterval()).isEqualTo(Duration.ofMillis(2500));
        assertThat(s.window()).isEqualTo(Duration.ofSeconds(90));
        assertThat(s.svidTtl()).isEqualTo(Duration.ofSeconds(180));
        assertThat(s.failoverAgents()).isZero();
    }

    @Test
    void badValuesNameTheirFlag() {
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("agents", "many")))
                .hasMessageContaining("-agents")
                .hasMessageContaining("many");
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("agents", "0")))
                .hasMessageContaining("-agents");
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("agents", "10", "entries", "5")))
                .hasMessageContaining("-entries");
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("syncSeconds", "-1")))
                .hasMessageContaining("-syncSeconds");
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("scaleSeconds", "10")))
                .hasMessageContaining("-scaleSeconds")
                .hasMessageContaining("four sync intervals");
        assertThatThrownBy(() -> ScaleSettings.from(Map.of("failoverAgents", "-3")))
                .hasMessageContaining("-failoverAgents");
    }

    @Test
    void agentSvidsLiveAtLeastTenMinutes() {
        assertThat(ServerProcess.agentTtl(Duration.ofSeconds(8))).isEqualTo(Duration.ofMinutes(10));
        assertThat(ServerProcess.agentTtl(Duration.ofMinutes(5))).isEqualTo(Duration.ofMinutes(10));
        assertThat(ServerProcess.agentTtl(Duration.ofMinutes(20)))
                .isEqualTo(Duration.ofMinutes(20));
    }

    @Test
    void theDefaultsAreTheIssuesScale() {
        assertThat(ScaleSettings.DEFAULTS.agents()).isEqualTo(5_000);
        assertThat(ScaleSettings.DEFAULTS.entries()).isEqualTo(50_000);
        assertThat(ScaleSettings.DEFAULTS.svidTtl()).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void syncThreadsGrowWithTheFleet() {
        assertThat(ScaleBench.syncThreads(100)).isEqualTo(64);
        assertThat(ScaleBench.syncThreads(5_000)).isEqualTo(250);
    }
}
