package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.StringLength;

/** Whatever the input, parsing returns resources or errors (never an unchecked exception, never hangs), and what parses compiles. */
class YamlFuzzTest {

    @Property(tries = 300)
    void arbitraryTextNeverThrows(@ForAll @StringLength(max = 400) String text) {
        MeshYaml.Result r = MeshYaml.parse("fuzz.yaml", text);
        assertThat(r.resources().isEmpty() || r.errors().isEmpty()).isTrue();
    }

    @Property(tries = 400)
    void mutatedIstioYamlNeverThrowsAndValidOutputCompiles(@ForAll("mutatedSeed") String text) {
        MeshYaml.Result r = MeshYaml.parse("fuzz.yaml", text);
        if (r.ok()) {
            MeshCompiler.compile(r.resources(), ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org"));
            MeshCompiler.compile(r.resources(), ProxyNode.sidecar("default", Map.of("app", "x"), "example.org",
                    List.of(new ProxyNode.InboundPort(15006, 9080)), 15001));
        } else {
            assertThat(r.errors()).allSatisfy(e -> assertThat(e.message()).isNotBlank());
        }
    }

    @Provide
    Arbitrary<String> mutatedSeed() {
        String seed;
        try {
            seed = SeedScenarioTest.seed() + "---\n" + SeedScenarioTest.PRODUCTPAGE_ENTRY + "---\n" + CompilerSemanticsTest.REVIEWS;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        List<String> tokens = List.of("", " ", ":", "-", "---", "\n", "{", "}", "[", "]", "\"", "*", "&a", "*a", "!!binary",
                "0", "-1", "99999999999", "true", "null", "~", "/", "\t", "?", "ISTIO_MUTUAL", "regex: \"(\"", "port: x");
        Arbitrary<Integer> position = Arbitraries.integers().between(0, seed.length());
        Arbitrary<String> token = Arbitraries.of(tokens);
        return Arbitraries.integers().between(1, 6).flatMap(n -> position.list().ofSize(n).flatMap(positions ->
                token.list().ofSize(n).map(toks -> {
                    StringBuilder sb = new StringBuilder(seed);
                    List<Integer> sorted = positions.stream().sorted((a, b) -> b - a).toList();
                    for (int i = 0; i < sorted.size(); i++) {
                        int p = sorted.get(i);
                        int cut = Math.min(sb.length(), p + (i % 3));
                        sb.replace(p, cut, toks.get(i));
                    }
                    return sb.toString();
                })));
    }
}
