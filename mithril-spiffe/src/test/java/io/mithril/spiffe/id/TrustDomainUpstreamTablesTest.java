package io.mithril.spiffe.id;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code TrustDomain.parse} against the published test tables of go-spiffe ({@code
 * spiffeid/trustdomain_test.go}, {@code TestTrustDomainFromString}, commit e9973f6) and java-spiffe
 * 0.8.17 ({@code java-spiffe-core/.../spiffeid/TrustDomainTest.java}), input by input.
 *
 * <p>Each row is one upstream input with the upstream outcome (the trust domain name, or a refusal)
 * and, for a refusal, a word of the rule our message must name. java-spiffe folds upper-case
 * letters to lower case; go-spiffe and SPIRE refuse them, and so do we (docs/spiffe.md): those rows
 * are marked {@code differs} and assert our refusal, so a change of either side fails here.
 */
class TrustDomainUpstreamTablesTest {

    /** One upstream input: {@code upstreamName} null means upstream refuses it. */
    record Row(String source, String input, String upstreamName, String ourRule, boolean differs) {
        @Override
        public String toString() {
            return source + " " + (input == null ? "null" : "\"" + printable(input) + "\"");
        }
    }

    static Row ok(String source, String input, String name) {
        return new Row(source, input, name, null, false);
    }

    static Row refused(String source, String input, String ourRule) {
        return new Row(source, input, null, ourRule, false);
    }

    static final String TD_CHARS =
            "trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores";

    static boolean tdChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
    }

    static List<Row> goSpiffe() {
        String src = "go-spiffe";
        List<Row> rows =
                new ArrayList<>(
                        List.of(
                                refused(src, "", "trust domain is missing"),
                                ok(src, "spiffe://trustdomain", "trustdomain"),
                                ok(src, "spiffe://trustdomain/path", "trustdomain"),
                                refused(
                                        src,
                                        "spiffe:/trustdomain/path",
                                        "scheme is missing or invalid"),
                                refused(src, "spiffe://", "trust domain is missing"),
                                refused(src, "spiffe:///path", "trust domain is missing"),
                                refused(src, "spiffe://trustdomain/", "trailing slash"),
                                refused(src, "spiffe://trustdomain/path/", "trailing slash"),
                                refused(src, "spiffe://%F0%9F%A4%AF/path", "percent-encoded"),
                                refused(
                                        src,
                                        "spiffe://trustdomain/%F0%9F%A4%AF",
                                        "percent-encoded")));
        // "Go all the way through 255": good characters both as a name and as an ID.
        for (int i = 0; i < 256; i++) {
            char c = (char) i;
            if (tdChar(c)) {
                rows.add(ok(src, "trustdomain" + c, "trustdomain" + c));
                rows.add(ok(src, "spiffe://trustdomain" + c, "trustdomain" + c));
            } else {
                rows.add(refused(src, "trustdomain" + c, c == '%' ? "percent-encoded" : TD_CHARS));
            }
        }
        return rows;
    }

    static List<Row> javaSpiffe() {
        String src = "java-spiffe 0.8.17";
        List<Row> rows =
                new ArrayList<>(
                        List.of(
                                ok(src, "trustdomain", "trustdomain"),
                                new Row(
                                        src,
                                        "TrUsTdOmAiN",
                                        "trustdomain",
                                        "write it in lowercase",
                                        true),
                                ok(
                                        src,
                                        "trust_domain_name.example.com",
                                        "trust_domain_name.example.com"),
                                ok(src, "1.2.3.4", "1.2.3.4"),
                                ok(src, "example..org", "example..org"),
                                ok(src, ".example.org", ".example.org"),
                                ok(src, "example.org.", "example.org."),
                                ok(src, "-example.org", "-example.org"),
                                ok(src, "example-.org", "example-.org"),
                                ok(src, "spiffe://trustdomain", "trustdomain"),
                                ok(src, "spiffe://trustdomain/path", "trustdomain"),
                                refused(src, "", "trust domain is missing"),
                                refused(src, "spiffe://", "trust domain is missing"),
                                refused(src, null, "trust domain is missing"),
                                refused(src, "trustdomain!", TD_CHARS),
                                refused(src, "spiffe://domain!.test", TD_CHARS),
                                refused(
                                        src,
                                        "spiffe://domain.test/spiffe://domain.test/path/element",
                                        "path segment characters"),
                                refused(src, "http://domain.test", "scheme"),
                                refused(src, "spiffe:// domain.test ", TD_CHARS),
                                refused(src, "://domain.test", "scheme is missing or invalid"),
                                refused(src, "spiffe:///path/element", "trust domain is missing"),
                                refused(src, "/path/element", TD_CHARS),
                                // java-spiffe reports the ':' as a bad trust domain character; we
                                // name the port rule.
                                refused(src, "spiffe://domain.test:80", "port"),
                                refused(
                                        src,
                                        "spiffe:/trustdomain/path",
                                        "scheme is missing or invalid"),
                                refused(src, "spiffe://trustdomain/", "trailing slash"),
                                refused(src, "spiffe://trustdomain/path/", "trailing slash"),
                                ok(src, "spiffe://example.org/foo", "example.org"),
                                new Row(
                                        src,
                                        "SpIfFe://ExAmPlE.OrG/foo",
                                        "example.org",
                                        "scheme must be lowercase",
                                        true),
                                refused(src, "spiffe:/example.org", "scheme"),
                                refused(src, "http://example.org", "scheme"),
                                refused(src, "[::1]", TD_CHARS),
                                refused(src, "trustdomain:test", TD_CHARS)));
        // testAllChars: java-spiffe lower-cases first, so 'A'..'Z' are accepted there (and refused
        // here).
        for (int i = 0; i < 256; i++) {
            char c = (char) i;
            char folded = Character.toLowerCase(c);
            if (tdChar(c)) {
                rows.add(ok(src, "trustdomain" + c, "trustdomain" + c));
            } else if (tdChar(folded)) {
                rows.add(
                        new Row(
                                src,
                                "trustdomain" + c,
                                "trustdomain" + folded,
                                "write it in lowercase",
                                true));
            } else {
                rows.add(refused(src, "trustdomain" + c, c == '%' ? "percent-encoded" : TD_CHARS));
            }
        }
        return rows;
    }

    static Stream<Row> rows() {
        return Stream.concat(goSpiffe().stream(), javaSpiffe().stream());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void behavesAsUpstream(Row row) {
        if (row.upstreamName() != null && !row.differs()) {
            TrustDomain td = TrustDomain.parse(row.input());
            assertThat(td.name()).isEqualTo(row.upstreamName());
            assertThat(td.idString()).isEqualTo("spiffe://" + row.upstreamName());
        } else {
            assertThatThrownBy(() -> TrustDomain.parse(row.input()))
                    .isInstanceOf(InvalidSpiffeIdException.class)
                    .hasMessageContaining(row.ourRule());
        }
    }

    /** The figures docs/spiffe.md quotes; fails when a table changes without the docs. */
    @Test
    void tally() {
        assertThat(goSpiffe()).hasSize(305);
        assertThat(goSpiffe()).noneMatch(Row::differs);
        assertThat(javaSpiffe()).hasSize(288);
        assertThat(javaSpiffe().stream().filter(Row::differs)).hasSize(28);
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(TrustDomain.printable((char) c)));
        return b.toString();
    }
}
