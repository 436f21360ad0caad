package io.mithril.samples.sleep;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SleepTest {

    @Test
    void parsesCoreutilsSleepDurations() {
        assertThat(Sleep.parseDuration("3650d")).isEqualTo(Duration.ofDays(3650));
        assertThat(Sleep.parseDuration("30")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Sleep.parseDuration("1.5h")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Sleep.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Sleep.parseDuration("5s")).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void rejectsAnInvalidIntervalQuotingIt() {
        assertThatThrownBy(() -> Sleep.parseDuration("forever"))
                .hasMessageStartingWith("invalid time interval \"forever\"");
    }

    @Test
    void staysUpUntilStopped() throws Exception {
        Sleep sleep = new Sleep();
        CompletableFuture<Boolean> running =
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return sleep.run(Duration.ofDays(3650));
                            } catch (InterruptedException e) {
                                throw new IllegalStateException(e);
                            }
                        });
        assertThat(running).isNotDone();
        sleep.stop();
        assertThat(running.get(30, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void endsWhenTheDurationRunsOut() throws Exception {
        assertThat(new Sleep().run(Duration.ZERO)).isFalse();
    }
}
