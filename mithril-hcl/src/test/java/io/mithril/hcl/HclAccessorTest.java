package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The typed accessors accept SPIRE's spellings and name key, position and type when they cannot.
 */
class HclAccessorTest {

    private static HclObject parse(String text) throws HclException {
        return Hcl.parse(text, "server.conf");
    }

    @Test
    void missingKeysGiveDefaultsAndEmptyResults() throws Exception {
        HclObject o = parse("");
        assertThat(o.string("a", "d")).isEqualTo("d");
        assertThat(o.string("a")).isEmpty();
        assertThat(o.number("a", 7)).isEqualTo(7);
        assertThat(o.bool("a", true)).isTrue();
        assertThat(o.duration("a", Duration.ofMinutes(5))).isEqualTo(Duration.ofMinutes(5));
        assertThat(o.strings("a")).isEmpty();
        assertThat(o.object("a")).isEmpty();
        assertThat(o.objects("a")).isEmpty();
        assertThat(o.get("a")).isEmpty();
        assertThat(o.has("a")).isFalse();
    }

    @Test
    void stringAcceptsNumbersAndBoolsAsText() throws Exception {
        HclObject o = parse("n = 8081\nb = true");
        assertThat(o.string("n", null)).isEqualTo("8081");
        assertThat(o.string("b", null)).isEqualTo("true");
    }

    @Test
    void stringOfABlockNamesKeyPositionAndType() {
        assertThatThrownBy(() -> parse("x = 1\ntrust_domain { }").string("trust_domain", null))
                .isInstanceOf(HclException.class)
                .hasMessage("server.conf:2:14: trust_domain: expected a string, found object");
    }

    @Test
    void numberRejectsTextThatIsNotANumber() {
        assertThatThrownBy(() -> parse("bind_port = \"80a\"").number("bind_port", 0))
                .hasMessage(
                        "server.conf:1:13: bind_port: expected a whole number, found string \"80a\"");
        assertThatThrownBy(() -> parse("bind_port = 1.5").number("bind_port", 0))
                .hasMessage(
                        "server.conf:1:13: bind_port: expected a whole number, found number 1.5");
    }

    @Test
    void boolAcceptsQuotedTrueFalseAndRejectsOthers() throws Exception {
        assertThat(parse("a = \"true\"").bool("a", false)).isTrue();
        assertThat(parse("a = \"false\"").bool("a", true)).isFalse();
        assertThatThrownBy(() -> parse("a = \"yes\"").bool("a", false))
                .hasMessage("server.conf:1:5: a: expected true or false, found string \"yes\"");
    }

    @Test
    void durationReadsGoNotation() throws Exception {
        HclObject o =
                parse(
                        """
                a = "1h"
                b = "24h"
                c = "90m"
                d = "30s"
                e = "1h30m"
                f = "500ms"
                g = 600
                h = "600"
                i = "1.5h"
                j = "0"
                """);
        assertThat(o.duration("a", null)).isEqualTo(Duration.ofHours(1));
        assertThat(o.duration("b", null)).isEqualTo(Duration.ofHours(24));
        assertThat(o.duration("c", null)).isEqualTo(Duration.ofMinutes(90));
        assertThat(o.duration("d", null)).isEqualTo(Duration.ofSeconds(30));
        assertThat(o.duration("e", null)).isEqualTo(Duration.ofMinutes(90));
        assertThat(o.duration("f", null)).isEqualTo(Duration.ofMillis(500));
        assertThat(o.duration("g", null)).isEqualTo(Duration.ofSeconds(600));
        assertThat(o.duration("h", null)).isEqualTo(Duration.ofSeconds(600));
        assertThat(o.duration("i", null)).isEqualTo(Duration.ofMinutes(90));
        assertThat(o.duration("j", null)).isEqualTo(Duration.ZERO);
    }

    @Test
    void durationWithUnknownUnitQuotesTheValue() {
        assertThatThrownBy(() -> parse("\nca_ttl = \"1d\"").duration("ca_ttl", null))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith("server.conf:2:10: ca_ttl: invalid duration \"1d\"");
    }

    @Test
    void stringsAcceptsASingleString() throws Exception {
        assertThat(parse("dns = \"a.example\"").strings("dns")).containsExactly("a.example");
    }

    @Test
    void stringsRejectsObjectsInTheList() {
        assertThatThrownBy(() -> parse("l = [\"a\", {}]").strings("l"))
                .hasMessage(
                        "server.conf:1:11: l: expected a list of strings, found object in the list");
    }

    @Test
    void getOfARepeatedKeyNamesBothPlaces() {
        assertThatThrownBy(() -> parse("a = 1\na = 2").get("a"))
                .isInstanceOf(HclException.class)
                .hasMessage(
                        "server.conf:2:1: key \"a\" is repeated (first set at server.conf:1:1); give it once");
    }

    @Test
    void objectsCollectsRepeatedBlocksAndListsOfObjects() throws Exception {
        HclObject o = parse("p { n = 1 }\np = [{ n = 2 }, { n = 3 }]");
        assertThat(o.objects("p"))
                .extracting(
                        x -> {
                            try {
                                return x.number("n", 0);
                            } catch (HclException e) {
                                throw new AssertionError(e);
                            }
                        })
                .containsExactly(1L, 2L, 3L);
    }

    @Test
    void objectOfAStringNamesTheType() {
        assertThatThrownBy(() -> parse("plugin_data = \"x\"").object("plugin_data"))
                .hasMessage(
                        "server.conf:1:15: plugin_data: expected a block { ... }, found string \"x\"");
    }

    @Test
    void requireOnlyNamesUnknownKeyPositionClosestAndKnownKeys() {
        assertThatThrownBy(
                        () ->
                                parse("server {\n  bind_port = 1\n  bind_prot = 2\n}")
                                        .object("server")
                                        .orElseThrow()
                                        .requireOnly(
                                                Set.of("bind_port", "bind_address", "trust_domain"),
                                                "server block"))
                .isInstanceOf(HclException.class)
                .hasMessage(
                        "server.conf:3:3: unknown key \"bind_prot\" in server block; did you mean \"bind_port\"?"
                                + " (known: bind_address, bind_port, trust_domain)");
    }

    @Test
    void requireOnlyDoesNotSuggestAFarKey() {
        assertThatThrownBy(
                        () ->
                                parse("zzzzzz = 1")
                                        .requireOnly(Set.of("server", "plugins"), "the file"))
                .hasMessage(
                        "server.conf:1:1: unknown key \"zzzzzz\" in the file (known: plugins, server)");
    }

    @Test
    void requireOnlyPassesKnownKeys() throws Exception {
        parse("server {}\nplugins {}")
                .requireOnly(Set.of("server", "plugins", "health_checks"), "the file");
    }
}
