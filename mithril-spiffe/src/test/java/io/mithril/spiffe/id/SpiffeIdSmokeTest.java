package io.mithril.spiffe.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpiffeIdSmokeTest {
    @Test
    void parsesAndNormalisesSchemeAndTrustDomainCase() {
        SpiffeId id = SpiffeId.parse("SPIFFE://Example.ORG/ns/default/sa/Sleep");
        assertThat(id.toString()).isEqualTo("spiffe://example.org/ns/default/sa/Sleep");
        assertThat(id.trustDomain()).isEqualTo(TrustDomain.parse("example.org"));
    }

    @Test
    void rejectsTrailingSlashNamingTheRule() {
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://example.org/a/"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("trailing slash");
    }
}
