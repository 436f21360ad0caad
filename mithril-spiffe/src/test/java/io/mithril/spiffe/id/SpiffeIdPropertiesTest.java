package io.mithril.spiffe.id;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class SpiffeIdPropertiesTest {

    @Provide
    Arbitrary<TrustDomain> trustDomains() {
        return Arbitraries.strings()
                .withChars("abcdefghijklmnopqrstuvwxyz0123456789.-_")
                .ofMinLength(1)
                .ofMaxLength(255)
                .map(TrustDomain::new);
    }

    @Provide
    Arbitrary<String> segments() {
        return Arbitraries.strings()
                .withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
                .ofMinLength(1)
                .ofMaxLength(40)
                .filter(s -> !s.equals(".") && !s.equals(".."));
    }

    @Provide
    Arbitrary<SpiffeId> spiffeIds() {
        Arbitrary<List<String>> paths = segments().list().ofMaxSize(12);
        return Combinators.combine(trustDomains(), paths)
                .as(
                        (td, segs) -> {
                            String path = segs.isEmpty() ? "" : "/" + String.join("/", segs);
                            return new SpiffeId(td, path);
                        })
                .ignoreException(
                        InvalidSpiffeIdException.class); // only the over-2048-bytes combinations
    }

    @Property
    void parseOfPrintIsIdentity(@ForAll("spiffeIds") SpiffeId id) {
        assertThat(SpiffeId.parse(id.toString())).isEqualTo(id);
    }

    @Property
    void upperCaseSchemeOrTrustDomainIsRefusedNotFolded(@ForAll("spiffeIds") SpiffeId id) {
        String td = id.trustDomain().name();
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> SpiffeId.parse("SPIFFE://" + td + id.path()))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("scheme must be lowercase");
        String upperTd = td.toUpperCase(java.util.Locale.ROOT);
        if (!upperTd.equals(td)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(
                            () -> SpiffeId.parse("spiffe://" + upperTd + id.path()))
                    .isInstanceOf(InvalidSpiffeIdException.class)
                    .hasMessageContaining("write it in lowercase");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> TrustDomain.parse(upperTd))
                    .isInstanceOf(InvalidSpiffeIdException.class)
                    .hasMessageContaining("write it in lowercase");
        }
    }

    @Property
    void trustDomainParseOfIdStringIsIdentity(@ForAll("trustDomains") TrustDomain td) {
        assertThat(TrustDomain.parse(td.idString())).isEqualTo(td);
        assertThat(TrustDomain.parse(td.name())).isEqualTo(td);
    }

    @Property
    void arbitraryStringsOnlyEverFailWithInvalidSpiffeIdException(@ForAll String s) {
        checkOnlyInvalidSpiffeId(s);
        checkOnlyInvalidSpiffeId("spiffe://" + s);
        checkOnlyInvalidSpiffeId("spiffe://example.org/" + s);
    }

    @Provide
    Arbitrary<String> uriLikeStrings() {
        return Arbitraries.strings()
                .withChars("spifeSPIFE:/@?#%.-_aZ09 \u212A\u017F\u0131")
                .ofMaxLength(60);
    }

    @Property
    void uriLikeStringsOnlyEverFailWithInvalidSpiffeIdException(
            @ForAll("uriLikeStrings") String s) {
        checkOnlyInvalidSpiffeId(s);
    }

    private static void checkOnlyInvalidSpiffeId(String s) {
        try {
            SpiffeId id = SpiffeId.parse(s);
            // Whatever parses must print back to a canonical form that parses to the same value.
            assertThat(SpiffeId.parse(id.toString())).isEqualTo(id);
        } catch (InvalidSpiffeIdException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
        try {
            TrustDomain.parse(s);
        } catch (InvalidSpiffeIdException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
