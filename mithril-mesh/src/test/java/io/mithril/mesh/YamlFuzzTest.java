package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.StringLength;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Fuzzed Istio YAML (issue 9): whatever the input, parsing returns resources or errors that name
 * the file and a line of it (never an unchecked exception, never a hang), and what parses compiles
 * for a gateway and a sidecar. 12,000 generated inputs plus the classic YAML bombs.
 */
class YamlFuzzTest {

    // One worker so a hang shows as a failed try instead of a stuck build.
    private static final ExecutorService WORKER =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "yaml-fuzz");
                        t.setDaemon(true);
                        return t;
                    });

    @AfterContainer
    static void stopWorker() {
        WORKER.shutdownNow();
    }

    private static final ProxyNode GATEWAY =
            ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org");
    private static final ProxyNode SIDECAR =
            ProxyNode.sidecar(
                    "default",
                    Map.of("app", "x"),
                    "example.org",
                    List.of(new ProxyNode.InboundPort(15006, 9080)),
                    15001);

    /**
     * Parses (and compiles what parses) on the worker; fails on an unchecked exception, a bad
     * error, or a stall.
     */
    private static void parseSafely(String text) throws Exception {
        Future<?> f =
                WORKER.submit(
                        () -> {
                            MeshYaml.Result r = MeshYaml.parse("fuzz.yaml", text);
                            if (r.ok()) {
                                MeshCompiler.compile(r.resources(), GATEWAY);
                                MeshCompiler.compile(r.resources(), SIDECAR);
                            } else {
                                assertThat(r.resources()).isEmpty();
                                int lines = yamlLines(text);
                                for (ValidationError e : r.errors()) {
                                    assertThat(e.file()).isEqualTo("fuzz.yaml");
                                    assertThat(e.line()).isBetween(0, lines);
                                    assertThat(e.message()).isNotBlank();
                                    assertThat(e.toString()).startsWith("fuzz.yaml");
                                }
                            }
                            return null;
                        });
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError("parser did not finish on input: " + shown(text));
        } catch (ExecutionException e) {
            throw new AssertionError(
                    "unexpected " + e.getCause() + " on input: " + shown(text), e.getCause());
        }
    }

    /** Lines as YAML counts them: \r\n, \r, \n and YAML 1.1's NEL, LS and PS each end one. */
    static int yamlLines(String text) {
        int lines = 1;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
                continue; // counted at the \n
            }
            if (c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029') {
                lines++;
            }
        }
        return lines;
    }

    @Example
    void errorLinesCountEveryYamlLineBreak() throws Exception {
        assertThat(yamlLines("a\r\nb\rc\u2028d\u0085e\nf")).isEqualTo(6);
        for (String text : List.of("\r$", "\u2028$", "\u0085$", "\r\n$")) {
            parseSafely(text); // an error on line 2 is inside these two-line inputs
        }
    }

    private static String shown(String text) {
        return text.length() > 2000
                ? text.substring(0, 2000) + "...(" + text.length() + " chars)"
                : text;
    }

    @Property(tries = 3000)
    void arbitraryTextNeverThrows(@ForAll @StringLength(max = 400) String text) throws Exception {
        parseSafely(text);
    }

    @Property(tries = 3000)
    void yamlPunctuationSoupNeverThrows(@ForAll("punctuationSoup") String text) throws Exception {
        parseSafely(text);
    }

    @Property(tries = 6000)
    void mutatedIstioYamlNeverThrowsAndValidOutputCompiles(@ForAll("mutatedSeed") String text)
            throws Exception {
        parseSafely(text);
    }

    @Example
    void yamlBombsDeepNestingAndHugeScalarsAreAnsweredWithErrors() throws Exception {
        StringBuilder laughs =
                new StringBuilder(
                        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (char c = 'b'; c <= 'j'; c++) {
            laughs.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++) {
                laughs.append(i == 0 ? "" : ",").append('*').append((char) (c - 1));
            }
            laughs.append("]\n");
        }
        for (String text :
                List.of(
                        laughs.toString(),
                        "[".repeat(20_000),
                        "{a: ".repeat(20_000),
                        "- ".repeat(20_000) + "x",
                        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: "
                                + "g".repeat(200_000)
                                + "\n",
                        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec:\n  servers:\n"
                                + "  - port: {number: 99999999999999999999, name: h, protocol: HTTP}\n    hosts: ['*']\n",
                        "\u0000\u0001\uFEFF---\n\t- :",
                        "---\n".repeat(50_000))) {
            parseSafely(text);
        }
    }

    @Provide
    Arbitrary<String> punctuationSoup() {
        Arbitrary<String> pieces =
                Arbitraries.of(
                        "apiVersion: networking.istio.io/v1\n",
                        "kind: VirtualService\n",
                        "kind: Gateway\n",
                        "metadata:\n",
                        "  name: a\n",
                        "spec:\n",
                        "  hosts:\n",
                        "  - \"*\"\n",
                        "  http:\n",
                        "  - route:\n",
                        "    - destination:\n",
                        "        host: reviews\n",
                        "        port: {number: 9080}\n",
                        "      weight: 50\n",
                        "---\n",
                        "- ",
                        ": ",
                        "? ",
                        "&x ",
                        "*x ",
                        "!!str ",
                        "!!map ",
                        "|\n",
                        ">-\n",
                        "{",
                        "}",
                        "[",
                        "]",
                        ",",
                        "\"",
                        "'",
                        "#",
                        "%YAML 1.2\n",
                        "\t",
                        " ",
                        "\n",
                        "\\",
                        "\u00e9",
                        "\uFFFD");
        return pieces.list().ofMaxSize(60).map(l -> String.join("", l));
    }

    @Provide
    Arbitrary<String> mutatedSeed() {
        String seed;
        try {
            seed =
                    SeedScenarioTest.seed()
                            + "---\n"
                            + SeedScenarioTest.PRODUCTPAGE_ENTRY
                            + "---\n"
                            + CompilerSemanticsTest.REVIEWS;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        List<String> tokens =
                List.of(
                        "",
                        " ",
                        ":",
                        "-",
                        "---",
                        "\n",
                        "{",
                        "}",
                        "[",
                        "]",
                        "\"",
                        "*",
                        "&a",
                        "*a",
                        "!!binary",
                        "0",
                        "-1",
                        "99999999999",
                        "true",
                        "null",
                        "~",
                        "/",
                        "\t",
                        "?",
                        "ISTIO_MUTUAL",
                        "regex: \"(\"",
                        "port: x",
                        "number: 0",
                        "number: 70000",
                        "weight: -5",
                        "weight: 101",
                        "mode: PASSTHROUGH",
                        "protocol: UDP",
                        "hosts: []",
                        "host: \"\"",
                        "subset: nope",
                        "credentialName: x",
                        "exact: ",
                        "prefix: ",
                        "uri:",
                        "timeout: 1x",
                        "timeout: -1s",
                        "attempts: -3",
                        "name: UPPER",
                        "namespace: \"\"");
        Arbitrary<Integer> position = Arbitraries.integers().between(0, seed.length());
        Arbitrary<String> token = Arbitraries.of(tokens);
        return Arbitraries.integers()
                .between(1, 6)
                .flatMap(
                        n ->
                                position.list()
                                        .ofSize(n)
                                        .flatMap(
                                                positions ->
                                                        token.list()
                                                                .ofSize(n)
                                                                .map(
                                                                        toks -> {
                                                                            StringBuilder sb =
                                                                                    new StringBuilder(
                                                                                            seed);
                                                                            List<Integer> sorted =
                                                                                    positions
                                                                                            .stream()
                                                                                            .sorted(
                                                                                                    (a,
                                                                                                            b) ->
                                                                                                            b
                                                                                                                    - a)
                                                                                            .toList();
                                                                            for (int i = 0;
                                                                                    i
                                                                                            < sorted
                                                                                                    .size();
                                                                                    i++) {
                                                                                int p =
                                                                                        sorted.get(
                                                                                                i);
                                                                                int cut =
                                                                                        Math.min(
                                                                                                sb
                                                                                                        .length(),
                                                                                                p
                                                                                                        + (i
                                                                                                                % 3));
                                                                                sb.replace(
                                                                                        p,
                                                                                        cut,
                                                                                        toks.get(
                                                                                                i));
                                                                            }
                                                                            return sb.toString();
                                                                        })));
    }
}
