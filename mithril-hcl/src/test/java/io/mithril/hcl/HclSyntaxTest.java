package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;

/** Every HCL 1 construct SPIRE configs use parses into the expected values. */
class HclSyntaxTest {

    private static HclObject parse(String text) throws HclException {
        return Hcl.parse(text, "t.conf");
    }

    @Test
    void keyEqualsValueGivesOneEntry() throws Exception {
        HclObject o = parse("name = \"value\"");
        assertThat(o.entries())
                .singleElement()
                .satisfies(
                        e -> {
                            assertThat(e.key()).isEqualTo("name");
                            assertThat(e.labels()).isEmpty();
                            assertThat(e.value())
                                    .isEqualTo(
                                            new HclString("value", new Position("t.conf", 1, 8)));
                            assertThat(e.position()).isEqualTo(new Position("t.conf", 1, 1));
                        });
    }

    @Test
    void stringEscapesAreResolved() throws Exception {
        HclObject o = parse("s = \"a\\\"b\\\\c\\nd\\te\\u00e9\\U0001F600\"");
        assertThat(o.string("s", null)).isEqualTo("a\"b\\c\nd\te\u00e9\uD83D\uDE00");
    }

    @Test
    void interpolationIsKeptAsWritten() throws Exception {
        assertThat(parse("s = \"${env(\"HOME\")}/x\"").string("s", null))
                .isEqualTo("${env(\"HOME\")}/x");
    }

    @Test
    void numbersParseAsIntegersDecimalsNegativesAndHex() throws Exception {
        HclObject o = parse("a = 8081\nb = -1\nc = 1.5\nd = 0x1F\ne = 2e3");
        assertThat(((HclNumber) o.get("a").orElseThrow()).value())
                .isEqualTo(BigDecimal.valueOf(8081));
        assertThat(o.number("b", 0)).isEqualTo(-1);
        assertThat(((HclNumber) o.get("c").orElseThrow()).value()).isEqualByComparingTo("1.5");
        assertThat(o.number("d", 0)).isEqualTo(31);
        assertThat(o.number("e", 0)).isEqualTo(2000);
        assertThat(o.string("c", null)).isEqualTo("1.5");
    }

    @Test
    void boolsParse() throws Exception {
        HclObject o = parse("a = true\nb = false");
        assertThat(o.get("a").orElseThrow()).isInstanceOf(HclBool.class);
        assertThat(o.bool("a", false)).isTrue();
        assertThat(o.bool("b", true)).isFalse();
    }

    @Test
    void listsAllowTrailingCommasNewlinesAndMixedValues() throws Exception {
        HclObject o = parse("l = [\n  \"a\",\n  1,\n  true,\n]\ne = []\nn = [[\"x\"], {k = 1}]");
        HclList l = (HclList) o.get("l").orElseThrow();
        assertThat(l.elements()).hasSize(3);
        assertThat(o.strings("l")).containsExactly("a", "1", "true");
        assertThat(o.strings("e")).isEmpty();
        HclList n = (HclList) o.get("n").orElseThrow();
        assertThat(n.elements().get(0)).isInstanceOf(HclList.class);
        assertThat(((HclObject) n.elements().get(1)).number("k", 0)).isEqualTo(1);
    }

    @Test
    void blockAndAssignedObjectAreTheSame() throws Exception {
        HclObject block = parse("plugin_data { a = \"1\" }").object("plugin_data").orElseThrow();
        HclObject assigned =
                parse("plugin_data = { a = \"1\" }").object("plugin_data").orElseThrow();
        assertThat(block.entries())
                .extracting(HclEntry::key, e -> ((HclString) e.value()).value())
                .isEqualTo(
                        assigned.entries().stream()
                                .map(
                                        e ->
                                                org.assertj.core.groups.Tuple.tuple(
                                                        e.key(), ((HclString) e.value()).value()))
                                .toList());
    }

    @Test
    void labelledBlockHasKeyLabelsAndBody() throws Exception {
        HclObject o = parse("NodeAttestor \"join_token\" {\n  plugin_data {}\n}");
        HclEntry e = o.all("NodeAttestor").get(0);
        assertThat(e.labels()).containsExactly("join_token");
        assertThat(e.label()).contains("join_token");
        assertThat(((HclObject) e.value()).has("plugin_data")).isTrue();
    }

    @Test
    void nestedLabelledBlockGivesPluginData() throws Exception {
        HclObject o = parse("DataStore \"sql\" { plugin_data { database_type = \"sqlite3\" } }");
        HclObject ds = o.objects("DataStore").get(0);
        assertThat(ds.object("plugin_data").orElseThrow().string("database_type", null))
                .isEqualTo("sqlite3");
    }

    @Test
    void blockWithSeveralLabelsKeepsThemInOrder() throws Exception {
        assertThat(parse("a \"b\" c \"d\" {}").entries().get(0).labels())
                .containsExactly("b", "c", "d");
    }

    @Test
    void repeatedKeysAndBlocksAreAllKeptInOrder() throws Exception {
        HclObject o =
                parse("x = 1\nWorkloadAttestor \"unix\" {}\nx = 2\nWorkloadAttestor \"k8s\" {}");
        assertThat(o.entries())
                .extracting(HclEntry::key)
                .containsExactly("x", "WorkloadAttestor", "x", "WorkloadAttestor");
        assertThat(o.all("x"))
                .extracting(e -> ((HclNumber) e.value()).text())
                .containsExactly("1", "2");
        assertThat(o.all("WorkloadAttestor"))
                .extracting(e -> e.labels().get(0))
                .containsExactly("unix", "k8s");
    }

    @Test
    void allThreeCommentStylesAreIgnored() throws Exception {
        HclObject o =
                parse(
                        "# hash\na = 1 # trailing\n// slashes\nb = /* inline */ 2\n/* multi\nline */ c = 3");
        assertThat(o.keys()).containsExactly("a", "b", "c");
        assertThat(o.get("c").orElseThrow().position()).isEqualTo(new Position("t.conf", 6, 13));
    }

    @Test
    void commentMarkersInsideStringsAreText() throws Exception {
        assertThat(parse("u = \"http://x/#y/*z*/\"").string("u", null))
                .isEqualTo("http://x/#y/*z*/");
    }

    @Test
    void heredocKeepsLinesWithNewlines() throws Exception {
        HclObject o = parse("pem = <<EOF\n-----BEGIN X-----\n  abc\nEOF\nafter = 1");
        assertThat(o.string("pem", null)).isEqualTo("-----BEGIN X-----\n  abc\n");
        assertThat(o.get("after").orElseThrow().position().line()).isEqualTo(5);
    }

    @Test
    void indentedHeredocRemovesCommonIndentation() throws Exception {
        HclObject o = parse("x {\n  t = <<-END\n    one\n      two\n    END\n}");
        assertThat(o.object("x").orElseThrow().string("t", null)).isEqualTo("one\n  two\n");
    }

    @Test
    void quotedNumbersReadAsNumbers() throws Exception {
        HclObject o = parse("bind_port = \"8081\"");
        assertThat(o.get("bind_port").orElseThrow()).isInstanceOf(HclString.class);
        assertThat(o.number("bind_port", 0)).isEqualTo(8081);
    }

    @Test
    void caSubjectAsAssignedObjectWithCommas() throws Exception {
        HclObject o =
                parse(
                        "ca_subject = { country = [\"US\"], organization = [\"SPIFFE\"], common_name = \"\" }");
        HclObject s = o.object("ca_subject").orElseThrow();
        assertThat(s.strings("country")).containsExactly("US");
        assertThat(s.strings("organization")).containsExactly("SPIFFE");
        assertThat(s.string("common_name", "x")).isEmpty();
    }

    @Test
    void caSubjectAsBlock() throws Exception {
        HclObject s =
                parse(
                                "ca_subject {\n country = [\"US\"]\n organization = [\"SPIFFE\"]\n common_name = \"\"\n}")
                        .object("ca_subject")
                        .orElseThrow();
        assertThat(s.strings("country")).containsExactly("US");
        assertThat(s.string("common_name", "x")).isEmpty();
    }

    @Test
    void quotedKeysAndDottedIdentifiersAreKeys() throws Exception {
        HclObject o = parse("\"demo-cluster\" = 1\nfoo.bar-baz = 2");
        assertThat(o.keys()).containsExactly("demo-cluster", "foo.bar-baz");
    }

    @Test
    void windowsLineEndingsAndByteOrderMarkAreAccepted() throws Exception {
        HclObject o = parse("\uFEFFa = 1\r\nb = <<EOF\r\nline\r\nEOF\r\n");
        assertThat(o.number("a", 0)).isEqualTo(1);
        assertThat(o.string("b", null)).isEqualTo("line\n");
        assertThat(o.get("a").orElseThrow().position()).isEqualTo(new Position("t.conf", 1, 5));
    }

    @Test
    void emptyDocumentAndCommentOnlyDocumentAreEmptyObjects() throws Exception {
        assertThat(parse("").entries()).isEmpty();
        assertThat(parse("  # nothing\n/* here */\n").entries()).isEmpty();
    }

    @Test
    void itemsOnOneLineMaybeSeparatedByCommas() throws Exception {
        assertThat(parse("a = 1, b = 2 c = 3").keys()).containsExactly("a", "b", "c");
    }
}
