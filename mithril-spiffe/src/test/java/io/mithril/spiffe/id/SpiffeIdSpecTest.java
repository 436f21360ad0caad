package io.mithril.spiffe.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The SPIFFE ID rules of reference.md section 1, one table row per rule. */
class SpiffeIdSpecTest {

    static Stream<Arguments> validIds() {
        return Stream.of(
                Arguments.of("spiffe://example.org", "example.org", ""),
                Arguments.of(
                        "spiffe://example.org/ns/default/sa/sleep",
                        "example.org",
                        "/ns/default/sa/sleep"),
                Arguments.of("spiffe://example.org/UPPER/Case", "example.org", "/UPPER/Case"),
                Arguments.of("spiffe://a_b-c.d/e_f-g.h", "a_b-c.d", "/e_f-g.h"),
                Arguments.of("spiffe://1.2.3.4/x", "1.2.3.4", "/x"),
                Arguments.of("spiffe://example.org/...", "example.org", "/..."),
                Arguments.of("spiffe://example.org/.a/..b/a.", "example.org", "/.a/..b/a."),
                Arguments.of("spiffe://example.org/0123456789", "example.org", "/0123456789"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("validIds")
    void acceptsValidIdAndSplitsTrustDomainAndPath(String input, String trustDomain, String path) {
        SpiffeId id = SpiffeId.parse(input);
        assertThat(id.trustDomain().name()).isEqualTo(trustDomain);
        assertThat(id.path()).isEqualTo(path);
        assertThat(id.toString()).isEqualTo("spiffe://" + trustDomain + path);
        assertThat(SpiffeId.isValid(input)).isTrue();
    }

    static Stream<Arguments> invalidIds() {
        return Stream.of(
                Arguments.of(null, "empty"),
                Arguments.of("", "empty"),
                Arguments.of("example.org/a", "scheme"),
                Arguments.of("http://example.org/a", "scheme must be \"spiffe\""),
                Arguments.of("spiffe:/example.org/a", "scheme"),
                Arguments.of("SPIFFE://example.org/a", "scheme must be lowercase"),
                Arguments.of("Spiffe://example.org/a", "scheme must be lowercase"),
                Arguments.of("spiffe://Example.ORG/a", "found 'E' at index 0"),
                Arguments.of("spiffe://example.orG", "write it in lowercase"),
                Arguments.of("spiffe:example.org", "scheme"),
                Arguments.of("\u017Fpiffe://example.org/a", "scheme"),
                Arguments.of("sp\u0131ffe://example.org/a", "scheme"),
                Arguments.of("spiffe://", "trust domain is missing"),
                Arguments.of("spiffe:///a", "trust domain is missing"),
                Arguments.of("spiffe://user@example.org/a", "userinfo"),
                Arguments.of("spiffe://user:pw@example.org/a", "userinfo"),
                Arguments.of("spiffe://example.org:8080/a", "port"),
                Arguments.of("spiffe://example.org:/a", "port"),
                Arguments.of("spiffe://example.org/a?x=1", "query"),
                Arguments.of("spiffe://example.org?x", "query"),
                Arguments.of("spiffe://example.org/a#frag", "fragment"),
                Arguments.of("spiffe://example.org#", "fragment"),
                Arguments.of("spiffe://example.org/", "trailing slash"),
                Arguments.of("spiffe://example.org/a/", "trailing slash"),
                Arguments.of("spiffe://example.org//a", "empty segments"),
                Arguments.of("spiffe://example.org/a//b", "empty segments"),
                Arguments.of("spiffe://example.org/.", "dot segments"),
                Arguments.of("spiffe://example.org/..", "dot segments"),
                Arguments.of("spiffe://example.org/a/./b", "dot segments"),
                Arguments.of("spiffe://example.org/a/../b", "dot segments"),
                Arguments.of("spiffe://example.org/a%20b", "percent-encoded"),
                Arguments.of("spiffe://example.org/%2e", "percent-encoded"),
                Arguments.of("spiffe://exa%6dple.org/a", "percent-encoded"),
                Arguments.of("spiffe://example.org/a b", "found ' '"),
                Arguments.of("spiffe://example.org/a*b", "found '*'"),
                Arguments.of("spiffe://example.org/a+b", "found '+'"),
                Arguments.of("spiffe://example.org/a~b", "found '~'"),
                Arguments.of("spiffe://example.org/caf\u00e9", "found '\\u00e9'"),
                Arguments.of("spiffe://example.org/a\\b", "found '\\'"),
                Arguments.of("spiffe://exam ple.org/a", "trust domain characters"),
                Arguments.of("spiffe://exam*ple.org/a", "trust domain characters"),
                Arguments.of("spiffe://[::1]/a", "port"),
                Arguments.of("spiffe://\u212Aelvin.org/a", "trust domain characters"),
                Arguments.of("spiffe://\u0130stanbul.org/a", "trust domain characters"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("invalidIds")
    void rejectsInvalidIdNamingTheRule(String input, String rule) {
        assertThatThrownBy(() -> SpiffeId.parse(input))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining(rule)
                .satisfies(
                        e -> assertThat(((InvalidSpiffeIdException) e).value()).isEqualTo(input));
        assertThat(SpiffeId.isValid(input)).isFalse();
    }

    @Test
    void errorMessageQuotesTheInput() {
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://example.org/a?b"))
                .hasMessageStartingWith("\"spiffe://example.org/a?b\": ");
    }

    @Test
    void trustDomainOf255BytesIsAccepted() {
        String name = "a".repeat(255);
        assertThat(SpiffeId.parse("spiffe://" + name + "/x").trustDomain().name()).isEqualTo(name);
        assertThat(TrustDomain.parse(name).name()).isEqualTo(name);
    }

    @Test
    void trustDomainOf256BytesIsRejected() {
        String name = "a".repeat(256);
        assertThatThrownBy(() -> SpiffeId.parse("spiffe://" + name + "/x"))
                .hasMessageContaining("longer than 255");
        assertThatThrownBy(() -> TrustDomain.parse(name)).hasMessageContaining("longer than 255");
    }

    @Test
    void idOf2048BytesIsAccepted() {
        String prefix = "spiffe://example.org/";
        String id = prefix + "p".repeat(2048 - prefix.length());
        assertThat(id).hasSize(2048);
        assertThat(SpiffeId.parse(id).toString()).isEqualTo(id);
        assertThat(
                        SpiffeId.of(
                                        TrustDomain.parse("example.org"),
                                        id.substring(prefix.length() - 1))
                                .toString())
                .isEqualTo(id);
    }

    @Test
    void idOf2049BytesIsRejectedByParseAndByOf() {
        String prefix = "spiffe://example.org/";
        String id = prefix + "p".repeat(2049 - prefix.length());
        assertThatThrownBy(() -> SpiffeId.parse(id))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("longer than 2048 bytes");
        TrustDomain td = TrustDomain.parse("example.org");
        String path = id.substring(prefix.length() - 1);
        assertThatThrownBy(() -> SpiffeId.of(td, path))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("longer than 2048 bytes");
    }

    @Test
    void lengthIsCountedInUtf8Bytes() {
        // 1000 two-byte characters: 1000 chars but 2000 bytes, plus the prefix is over 2048 bytes.
        String id = "spiffe://example.org/" + "\u00e9".repeat(1100);
        assertThatThrownBy(() -> SpiffeId.parse(id)).hasMessageContaining("longer than 2048 bytes");
    }

    @Test
    void pathIsCaseSensitive() {
        assertThat(SpiffeId.parse("spiffe://example.org/A"))
                .isNotEqualTo(SpiffeId.parse("spiffe://example.org/a"));
    }

    @Test
    void upperCaseSchemeAndTrustDomainAreRefusedAsGoSpiffeRefusesThem() {
        assertThat(SpiffeId.isValid("SPIFFE://example.org/A")).isFalse();
        assertThat(SpiffeId.isValid("spiffe://EXAMPLE.org/A")).isFalse();
        assertThat(SpiffeId.isValid("spiffe://example.org/A")).isTrue();
    }

    @Test
    void ofBuildsFromTrustDomainAndPath() {
        TrustDomain td = TrustDomain.of("example.org");
        SpiffeId id = SpiffeId.of(td, "/ns/default/sa/sleep");
        assertThat(id).isEqualTo(SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep"));
        assertThat(td.spiffeId("/x")).isEqualTo(SpiffeId.parse("spiffe://example.org/x"));
        assertThat(SpiffeId.of(td, "").isTrustDomainId()).isTrue();
        assertThat(id.memberOf(td)).isTrue();
    }

    @Test
    void ofRejectsPathWithoutLeadingSlash() {
        TrustDomain td = TrustDomain.of("example.org");
        assertThatThrownBy(() -> SpiffeId.of(td, "ns/default"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("must start with '/'");
    }

    @Test
    void ofRejectsInvalidPathSegments() {
        TrustDomain td = TrustDomain.of("example.org");
        assertThatThrownBy(() -> SpiffeId.of(td, "/a/../b")).hasMessageContaining("dot segments");
        assertThatThrownBy(() -> SpiffeId.of(td, "/a/")).hasMessageContaining("trailing slash");
        assertThatThrownBy(() -> SpiffeId.of(td, "/a%41")).hasMessageContaining("percent-encoded");
    }

    @Test
    void ofRejectsMissingTrustDomain() {
        assertThatThrownBy(() -> SpiffeId.of(null, "/a"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("trust domain is missing");
    }

    @Test
    void trustDomainParsesNameOrTrustDomainId() {
        assertThat(TrustDomain.parse("spiffe://example.org"))
                .isEqualTo(TrustDomain.of("example.org"));
        assertThat(TrustDomain.parse("spiffe://example.org/ns/a"))
                .isEqualTo(TrustDomain.of("example.org"));
        assertThat(TrustDomain.parse("example.org").name()).isEqualTo("example.org");
        assertThatThrownBy(() -> TrustDomain.parse("Example.Org"))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining("write it in lowercase");
        TrustDomain td = TrustDomain.parse("example.org");
        assertThat(td.id()).isEqualTo(SpiffeId.parse("spiffe://example.org"));
        assertThat(td.idString()).isEqualTo("spiffe://example.org");
        assertThat(td.toString()).isEqualTo("example.org");
    }

    static Stream<Arguments> invalidTrustDomains() {
        return Stream.of(
                Arguments.of(null, "missing"),
                Arguments.of("", "missing"),
                Arguments.of("spiffe://example.org:80", "port"),
                Arguments.of("example.org:80", "trust domain characters"),
                Arguments.of("example.org/a", "trust domain characters"),
                Arguments.of("exa%6dple.org", "percent-encoded"),
                Arguments.of("exam ple", "trust domain characters"),
                Arguments.of("\u212Aelvin", "trust domain characters"),
                Arguments.of("http://example.org", "scheme must be \"spiffe\""));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("invalidTrustDomains")
    void rejectsInvalidTrustDomainNamingTheRule(String input, String rule) {
        assertThatThrownBy(() -> TrustDomain.parse(input))
                .isInstanceOf(InvalidSpiffeIdException.class)
                .hasMessageContaining(rule);
    }

    @Test
    void trustDomainConstructorRejectsUppercase() {
        // parse() normalises; the canonical constructor holds the invariant itself.
        assertThatThrownBy(() -> new TrustDomain("Example.org"))
                .isInstanceOf(InvalidSpiffeIdException.class);
    }
}
