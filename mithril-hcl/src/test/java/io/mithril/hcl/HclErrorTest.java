package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Syntax errors name file, line and column, what was expected, and quote what was found. */
class HclErrorTest {

    private static HclException error(String text) {
        try {
            Hcl.parse(text, "server.conf");
        } catch (HclException e) {
            return e;
        }
        throw new AssertionError("expected a syntax error for: " + text);
    }

    @Test
    void missingEqualsQuotesTheTokenFound() {
        HclException e = error("server {\n  bind_port 8081\n}");
        assertThat(e.position()).isEqualTo(new Position("server.conf", 2, 13));
        assertThat(e)
                .hasMessage(
                        "server.conf:2:13: expected '=' or '{' after key \"bind_port\", found number 8081");
    }

    @Test
    void unclosedBlockSaysWhatIsExpected() {
        assertThat(error("server {\n  a = 1\n"))
                .hasMessage("server.conf:3:1: expected '}' to close the block, found end of file");
    }

    @Test
    void strayClosingBraceAtTopLevel() {
        assertThat(error("a = 1\n}")).hasMessage("server.conf:2:1: expected a key, found '}'");
    }

    @Test
    void missingValue() {
        assertThat(error("a =\n}"))
                .hasMessage(
                        "server.conf:2:1: expected the value of \"a\""
                                + " (a string, number, true/false, [list] or { object }), found '}'");
    }

    @Test
    void unquotedWordAsValueSuggestsQuoting() {
        assertThat(error("log_level = DEBUG"))
                .hasMessage(
                        "server.conf:1:13: expected the value of \"log_level\""
                                + " (a string, number, true/false, [list] or { object }), found identifier \"DEBUG\"; quote text: \"DEBUG\"");
    }

    @Test
    void unterminatedStringPointsAtItsStart() {
        assertThat(error("a = 1\nb = \"abc\nc = 2"))
                .hasMessageStartingWith(
                        "server.conf:2:5: string is not closed before the end of the line");
    }

    @Test
    void unknownEscapeIsPointedAt() {
        assertThat(error("a = \"C:\\dir\""))
                .hasMessageStartingWith("server.conf:1:8: unknown escape \\d in string");
    }

    @Test
    void listWithoutCommaNamesTheList() {
        assertThat(error("l = [\"a\" \"b\"]"))
                .hasMessage(
                        "server.conf:1:10: expected ',' or ']' in the list opened at server.conf:1:5, found string \"b\"");
    }

    @Test
    void unclosedCommentAndHeredoc() {
        assertThat(error("a = 1\n  /* no end"))
                .hasMessage("server.conf:2:3: comment /* is not closed; add */");
        assertThat(error("a = <<EOF\nx\n"))
                .hasMessage("server.conf:1:5: heredoc is not closed; add a line with EOF");
    }

    @Test
    void unexpectedCharacterIsQuoted() {
        assertThat(error("a = 1\nb ; 2"))
                .hasMessageStartingWith("server.conf:2:3: unexpected character ';'");
    }

    @Test
    void badNumberIsQuoted() {
        assertThat(error("a = 1.2.3"))
                .hasMessageStartingWith("server.conf:1:5: invalid number \"1.2.3\"");
    }

    @Test
    void labelsFollowedByEqualsAreRejected() {
        assertThat(error("a \"b\" = 1"))
                .hasMessage(
                        "server.conf:1:7: expected '{' after the labels of identifier \"a\", found '='");
    }

    @Test
    void deepNestingIsAnErrorNotAStackOverflow() {
        String deep = "a = " + "[".repeat(100_000);
        assertThat(error(deep).what()).contains("nesting is deeper than");
        assertThat(error("a " + "{ b ".repeat(50_000)).what()).contains("nesting is deeper than");
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nope.conf");
        assertThatThrownBy(() -> Hcl.parseFile(missing))
                .isInstanceOf(HclException.class)
                .hasMessage(missing + ": configuration file does not exist");
    }

    @Test
    void directoryInsteadOfFileIsNamed(@TempDir Path dir) {
        assertThatThrownBy(() -> Hcl.parseFile(dir))
                .isInstanceOf(HclException.class)
                .hasMessageStartingWith(dir + ": cannot read configuration file");
    }

    @Test
    void nonUtf8FileIsNamed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.conf");
        Files.write(f, new byte[] {'a', ' ', '=', ' ', '"', (byte) 0xff, '"'});
        assertThatThrownBy(() -> Hcl.parseFile(f))
                .hasMessage(f + ": configuration file is not UTF-8 text");
    }
}
