package io.mithril.api.selector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SelectorTest {

    @Test
    void oversizedSelectorValueIsRefusedSayingTheLimitWithoutQuotingItAll() {
        String huge = "uid:" + "1".repeat(70_000);
        assertThatThrownBy(() -> Selector.parse("unix:" + huge))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("too long")
                .hasMessageContaining("at most 255 and 4096")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(300));
    }

    @Test
    void oversizedSelectorTypeIsRefused() {
        assertThatThrownBy(() -> new Selector("t".repeat(256), "v"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("type 256 characters");
    }

    @Test
    void typeAndValueMustBeNonEmptyAndTheTypeHasNoColon() {
        assertThatThrownBy(() -> Selector.parse("unix"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("type:value");
        assertThatThrownBy(() -> new Selector("a:b", "c"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("contain no ':'");
        assertThatThrownBy(() -> new Selector("unix", ""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty value");
        assertThat(Selector.parse("unix:uid:1000")).isEqualTo(new Selector("unix", "uid:1000"));
        assertThat(Selector.parse("unix:uid:1000").toString()).isEqualTo("unix:uid:1000");
    }

    @Test
    void aFullLengthPathSelectorIsAccepted() {
        String path = "path:/" + "p".repeat(Selector.MAX_VALUE_LENGTH - 6);
        assertThat(Selector.parse("unix:" + path).value()).isEqualTo(path);
    }
}
