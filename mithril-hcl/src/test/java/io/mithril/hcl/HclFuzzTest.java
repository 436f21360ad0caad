package io.mithril.hcl;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Thousands of random and mutated inputs: the parser either returns an object or throws
 * HclException with a position inside the text, never another exception and never hangs.
 */
class HclFuzzTest {

    // One worker so a hang shows as a failed try instead of a stuck build.
    private static final ExecutorService WORKER =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "hcl-fuzz");
                        t.setDaemon(true);
                        return t;
                    });

    @AfterContainer
    static void stopWorker() {
        WORKER.shutdownNow();
    }

    private static final List<String> SEEDS =
            List.of(
                    SpireConfigTest.SPIRE_SERVER_CONF,
                    SpireConfigTest.MITHRIL_SERVER_CONF,
                    SpireConfigTest.SPIRE_AGENT_CONF,
                    "pem = <<EOF\nabc\nEOF\nx = <<-END\n  y\n  END\n",
                    "s = \"a\\\"b\\u00e9\\U0001F600${x}\" /* c */ // d\n# e\nl = [1, -2.5, 0x1F, true, [], {}],");

    /**
     * Parses on the worker; fails on anything but success or HclException, or after a long stall.
     */
    private static void parseSafely(String text) throws Exception {
        Future<Object> f =
                WORKER.submit(
                        () -> {
                            try {
                                HclObject o = Hcl.parse(text, "fuzz.conf");
                                exerciseAccessors(o);
                                return o;
                            } catch (HclException e) {
                                assertThat(e.position().source()).isEqualTo("fuzz.conf");
                                assertThat(e.position().line())
                                        .isBetween(
                                                1,
                                                (int) text.chars().filter(c -> c == '\n').count()
                                                        + 1);
                                assertThat(e.position().column()).isPositive();
                                assertThat(e.getMessage()).startsWith(e.position() + ": ");
                                return e;
                            }
                        });
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError("parser did not finish on input: " + Quote.quote(text));
        } catch (ExecutionException e) {
            throw new AssertionError(
                    "unexpected " + e.getCause() + " on input: " + Quote.quote(text), e.getCause());
        }
    }

    /** Every accessor on every key either answers or throws HclException. */
    private static void exerciseAccessors(HclObject o) {
        for (HclEntry e : o.entries()) {
            String k = e.key();
            tryAccessor(() -> o.string(k, null));
            tryAccessor(() -> o.number(k, 0));
            tryAccessor(() -> o.bool(k, false));
            tryAccessor(() -> o.duration(k, null));
            tryAccessor(() -> o.strings(k));
            tryAccessor(() -> o.objects(k));
            tryAccessor(() -> o.requireOnly(java.util.Set.of("server", "bind_port"), "fuzz"));
            if (e.value() instanceof HclObject child) {
                exerciseAccessors(child);
            }
        }
    }

    interface Accessor {
        void run() throws HclException;
    }

    private static void tryAccessor(Accessor a) {
        try {
            a.run();
        } catch (HclException expected) {
            // a wrong type is an answer, not a failure
        }
    }

    @Property(tries = 3000)
    void randomTextOverHclAlphabetOnlyFailsWithHclException(@ForAll("hclish") String text)
            throws Exception {
        parseSafely(text);
    }

    @Property(tries = 3000)
    void mutatedRealConfigsOnlyFailWithHclException(@ForAll("mutated") String text)
            throws Exception {
        parseSafely(text);
    }

    @Property(tries = 1000)
    void arbitraryUnicodeOnlyFailsWithHclException(@ForAll String text) throws Exception {
        parseSafely(text);
    }

    @Property(tries = 1000)
    void generatedDocumentsParseBackToTheirValues(@ForAll("documents") Doc doc) throws Exception {
        HclObject parsed = Hcl.parse(doc.text(), "gen.conf");
        assertThat(Doc.shape(parsed)).isEqualTo(doc.shape());
    }

    @Provide
    Arbitrary<String> hclish() {
        Arbitrary<String> pieces =
                Arbitraries.of(
                        "{",
                        "}",
                        "[",
                        "]",
                        "=",
                        ",",
                        "\"",
                        "\\",
                        "#",
                        "//",
                        "/*",
                        "*/",
                        "<<EOF\n",
                        "<<-EOF\n",
                        "EOF",
                        "\n",
                        " ",
                        "a",
                        "plugin_data",
                        "\"x\"",
                        "1",
                        "-",
                        ".",
                        "0x",
                        "e",
                        "true",
                        "${",
                        "\\u",
                        "\\U0010FFFF",
                        "\r",
                        "\t",
                        "é",
                        "\uFEFF",
                        "+",
                        "<",
                        "<<",
                        "9e99999999");
        return pieces.list().ofMaxSize(60).map(l -> String.join("", l));
    }

    @Provide
    Arbitrary<String> mutated() {
        Arbitrary<String> seed = Arbitraries.of(SEEDS);
        Arbitrary<List<int[]>> edits =
                Combinators.combine(
                                Arbitraries.integers().between(0, 3),
                                Arbitraries.integers().between(0, 100_000),
                                Arbitraries.integers().between(0, 40),
                                Arbitraries.chars().with("{}[]=,\"\\#/*<-\n .0aE$"))
                        .as((kind, at, len, ch) -> new int[] {kind, at, len, ch})
                        .list()
                        .ofMinSize(1)
                        .ofMaxSize(6);
        return Combinators.combine(seed, edits)
                .as(
                        (s, es) -> {
                            StringBuilder b = new StringBuilder(s);
                            for (int[] e : es) {
                                int at = b.length() == 0 ? 0 : e[1] % (b.length() + 1);
                                switch (e[0]) {
                                    case 0 -> b.delete(at, Math.min(b.length(), at + e[2]));
                                    case 1 -> b.insert(at, (char) e[3]);
                                    case 2 -> {
                                        if (at < b.length()) {
                                            b.setCharAt(at, (char) e[3]);
                                        }
                                    }
                                    default -> b.setLength(at);
                                }
                            }
                            return b.toString();
                        });
    }

    /** A generated document: its HCL text and the shape the parser must give back. */
    record Doc(String text, List<Object> shape) {

        /** The tree as plain lists: [key, labels, value] per entry, values as strings/lists. */
        static List<Object> shape(HclObject o) {
            List<Object> out = new ArrayList<>();
            for (HclEntry e : o.entries()) {
                out.add(List.of(e.key(), e.labels(), shape(e.value())));
            }
            return out;
        }

        static Object shape(HclValue v) {
            if (v instanceof HclObject o) {
                return shape(o);
            }
            if (v instanceof HclList l) {
                List<Object> out = new ArrayList<>();
                for (HclValue x : l.elements()) {
                    out.add(shape(x));
                }
                return List.of("list", out);
            }
            if (v instanceof HclString s) {
                return "s:" + s.value();
            }
            if (v instanceof HclNumber n) {
                return "n:" + n.value().stripTrailingZeros().toPlainString();
            }
            return "b:" + ((HclBool) v).value();
        }
    }

    @Provide
    Arbitrary<Doc> documents() {
        return objectBody(3);
    }

    private static final Arbitrary<String> KEYS =
            Arbitraries.of(
                    "server",
                    "bind_port",
                    "plugin_data",
                    "NodeAttestor",
                    "a",
                    "b.c",
                    "d-e",
                    "_f",
                    "x1");
    private static final Arbitrary<String> SEPARATORS =
            Arbitraries.of("\n", " ", ", ", " # c\n", " // c\n", " /* c\n */ ", "\r\n");

    private Arbitrary<Doc> objectBody(int depth) {
        Arbitrary<Doc> entry = entry(depth);
        return Combinators.combine(entry.list().ofMaxSize(4), SEPARATORS.list().ofSize(5))
                .as(
                        (entries, seps) -> {
                            StringBuilder text = new StringBuilder();
                            List<Object> shape = new ArrayList<>();
                            for (int i = 0; i < entries.size(); i++) {
                                text.append(entries.get(i).text()).append(seps.get(i));
                                shape.addAll(entries.get(i).shape());
                            }
                            return new Doc(text.toString(), shape);
                        });
    }

    private Arbitrary<Doc> entry(int depth) {
        Arbitrary<Doc> assign =
                Combinators.combine(KEYS, value(depth))
                        .as(
                                (k, v) ->
                                        new Doc(
                                                k + " = " + v.text(),
                                                List.of(List.of(k, List.of(), v.shape().get(0)))));
        if (depth == 0) {
            return assign;
        }
        Arbitrary<Doc> block =
                Combinators.combine(
                                KEYS,
                                Arbitraries.of("", "\"sql\" ", "\"join token\" \"x\" ", "label "),
                                Arbitraries.lazy(() -> objectBody(depth - 1)))
                        .as(
                                (k, labels, body) -> {
                                    List<String> ls = new ArrayList<>();
                                    java.util.regex.Matcher m =
                                            java.util.regex.Pattern.compile("\"([^\"]*)\"|(\\w+)")
                                                    .matcher(labels);
                                    while (m.find()) {
                                        ls.add(m.group(1) != null ? m.group(1) : m.group(2));
                                    }
                                    return new Doc(
                                            k + " " + labels + "{\n" + body.text() + "\n}",
                                            List.of(List.of(k, ls, body.shape())));
                                });
        return Arbitraries.oneOf(assign, block);
    }

    /** A value; its shape is a one-element list holding the value's shape. */
    private Arbitrary<Doc> value(int depth) {
        Arbitrary<Doc> string =
                Arbitraries.strings()
                        .withChars("abc \"\\\n\té/#${}")
                        .ofMaxLength(8)
                        .map(
                                s -> {
                                    StringBuilder q = new StringBuilder("\"");
                                    for (char c : s.toCharArray()) {
                                        switch (c) {
                                            case '"' -> q.append("\\\"");
                                            case '\\' -> q.append("\\\\");
                                            case '\n' -> q.append("\\n");
                                            case '\t' -> q.append("\\t");
                                            default -> q.append(c);
                                        }
                                    }
                                    return new Doc(q.append('"').toString(), List.of("s:" + s));
                                })
                        .filter(d -> !d.text().contains("${"));
        Arbitrary<Doc> number =
                Arbitraries.longs().map(n -> new Doc(Long.toString(n), List.of("n:" + n)));
        Arbitrary<Doc> bool =
                Arbitraries.of(true, false).map(b -> new Doc(b.toString(), List.of("b:" + b)));
        Arbitrary<Doc> heredoc =
                Arbitraries.strings()
                        .withChars("ab {}\"#")
                        .ofMaxLength(10)
                        .map(s -> new Doc("<<EOF\n" + s + "\nEOF\n", List.of("s:" + s + "\n")));
        if (depth == 0) {
            return Arbitraries.oneOf(string, number, bool, heredoc);
        }
        Arbitrary<Doc> list =
                Arbitraries.lazy(() -> value(depth - 1))
                        .list()
                        .ofMaxSize(3)
                        .map(
                                vs -> {
                                    StringBuilder t = new StringBuilder("[");
                                    List<Object> shapes = new ArrayList<>();
                                    for (Doc v : vs) {
                                        t.append(v.text()).append(",\n");
                                        shapes.add(v.shape().get(0));
                                    }
                                    return new Doc(
                                            t.append(']').toString(),
                                            List.of(List.of("list", shapes)));
                                });
        Arbitrary<Doc> object =
                Arbitraries.lazy(() -> objectBody(depth - 1))
                        .map(b -> new Doc("{\n" + b.text() + "\n}", List.of(b.shape())));
        return Arbitraries.oneOf(string, number, bool, heredoc, list, object);
    }
}
