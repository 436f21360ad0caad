package io.mithril.server.entry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An entry's federates_with names trust domains: a name or {@code spiffe://name}, never an ID with
 * a path.
 */
class RegistrationEntryFederatesWithTest {

    private static RegistrationEntry entry(String federatesWith) {
        return new RegistrationEntry(
                "",
                SpiffeId.parse("spiffe://example.org/web"),
                SpiffeId.parse("spiffe://example.org/agent"),
                List.of(Selector.parse("unix:uid:1000")),
                0,
                0,
                List.of(),
                List.of(federatesWith),
                false,
                false,
                "",
                0,
                0,
                0);
    }

    @Test
    void aFederatedTrustDomainWithAPathIsRefused() {
        assertThatThrownBy(
                        () ->
                                entry("spiffe://domain.test/path")
                                        .validate(TrustDomain.parse("example.org")))
                .isInstanceOf(InvalidEntryException.class)
                .hasMessageContaining("federates_with \"spiffe://domain.test/path\"")
                .hasMessageContaining("a trust domain has no path");
        assertThatThrownBy(
                        () -> entry("domain.test/path").validate(TrustDomain.parse("example.org")))
                .isInstanceOf(InvalidEntryException.class);
        assertThat(entry("spiffe://domain.test").validate(TrustDomain.parse("example.org")))
                .isNotNull();
        assertThat(entry("domain.test").validate(TrustDomain.parse("example.org"))).isNotNull();
    }
}
