package io.mithril.spiffe.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SpiffeIdSmokeTest {
    @Test
    void pathIsCaseSensitiveButSchemeAndTrustDomainMustBeLowercase() {
        SpiffeId id = SpiffeId.parse("spiffe://example.org/ns/default/sa/Sleep");
        assertThat(id.path()).isEqualTo("/ns/default/sa/Sleep");
        assertThatThrownBy(() -> SpiffeId.parse("SPIFFE://example.org/ns/default/sa/Sleep"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining(
                        "scheme must be lowercase \"spiffe://\" (found \"SPIFFE://\")");
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://Example.org/ns/default/sa/Sleep"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("found 'E' at index 0")
                .hasMessageContaining("write it in lowercase");
        assertThatThrownBy(() -> TrustDomain.parse("example.ORG"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("found 'O' at index 8");
    }

    @Test
    void rejectsTrailingSlashNamingTheRule() {
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://example.org/a/"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("trailing slash");
    }

    @Test
    void aTrustDomainNameHasNoPathWhereParseWouldTakeTheIdsTrustDomain() {
        assertThat(TrustDomain.parse("spiffe://domain.test/path"))
                .isEqualTo(new TrustDomain("domain.test"));
        assertThatThrownBy(() -> TrustDomain.parseName("spiffe://domain.test/path"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("a trust domain has no path");
        assertThatThrownBy(() -> TrustDomain.parseName("domain.test/path"))
                .isInstanceOf(InvalidSpiffeIdException.class);
        assertThat(TrustDomain.parseName("spiffe://domain.test"))
                .isEqualTo(new TrustDomain("domain.test"));
        assertThat(TrustDomain.parseName("domain.test")).isEqualTo(new TrustDomain("domain.test"));
    }
}
