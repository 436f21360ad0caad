package io.mithril.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Istio's own validation test tables (validation_test.go), ported case by case into {@code
 * src/test/resources/istio-validation/*.yaml}: each case must get Istio's verdict (valid, valid
 * with a warning, or invalid) from {@link MeshYaml}, as {@code istioctl validate} gives it.
 *
 * <p>{@link #DIFFERENCES} names the cases where Mithril deliberately answers otherwise, with the
 * reason (a feature Mithril does not implement is refused rather than silently accepted); those
 * cases assert Mithril's own verdict, so a change on either side fails here.
 */
class IstioValidationConformanceTest {

    static final List<String> FILES =
            List.of(
                    "workloadentry",
                    "serviceentry",
                    "authorizationpolicy",
                    "destinationrule",
                    "trafficpolicy");

    /** A kind of input where Mithril deliberately answers otherwise than Istio, and why. */
    record Difference(String reason, java.util.function.Predicate<Case> applies) {}

    /**
     * Features Mithril does not implement: Istio accepts them, Mithril refuses them with an error
     * naming the feature (accepting and ignoring would enforce something other than what was
     * written). Each applies only to inputs Istio accepts; Istio's own refusals still hold.
     */
    static final List<Difference> DIFFERENCES =
            List.of(
                    new Difference(
                            "resolution DYNAMIC_DNS (dynamic forward proxy) is not implemented",
                            c -> c.yaml().contains("resolution: DYNAMIC_DNS")),
                    new Difference(
                            "action CUSTOM (external authorization) is not implemented",
                            c -> c.yaml().contains("action: CUSTOM")),
                    new Difference(
                            "targetRef/targetRefs (waypoint and Gateway API attachment) are not implemented",
                            c -> c.yaml().contains("targetRef")),
                    new Difference(
                            "istio.io/dry-run \"true\" is refused: Mithril has no shadow mode",
                            c -> c.yaml().contains("istio.io/dry-run: 'true'")),
                    new Difference(
                            "requestPrincipals (JWT request authentication) is not implemented",
                            c -> c.yaml().contains("equestPrincipals:")),
                    new Difference(
                            "remoteIpBlocks (X-Forwarded-For addresses) are not implemented",
                            c -> c.yaml().contains("emoteIpBlocks:")));

    static Difference difference(Case c) {
        if (c.expect().equals("invalid")) {
            return null;
        }
        return DIFFERENCES.stream().filter(d -> d.applies().test(c)).findFirst().orElse(null);
    }

    static final long EXPECTED_DIFFERING = 10;

    record Case(String file, String upstream, String expect, String yaml) {
        @Override
        public String toString() {
            return upstream;
        }
    }

    private static final Pattern UPSTREAM = Pattern.compile("mithril\\.io/upstream: '?(.*?)'?\\n");
    private static final Pattern EXPECT = Pattern.compile("mithril\\.io/expect: (\\w+)");

    static List<Case> cases() throws IOException {
        List<Case> out = new ArrayList<>();
        for (String f : FILES) {
            String text;
            try (InputStream in =
                    IstioValidationConformanceTest.class.getResourceAsStream(
                            "/istio-validation/" + f + ".yaml")) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            for (String doc : text.split("(?m)^---$")) {
                Matcher u = UPSTREAM.matcher(doc);
                Matcher e = EXPECT.matcher(doc);
                if (u.find() && e.find()) {
                    out.add(new Case(f, u.group(1).replace("''", "'"), e.group(1), doc));
                }
            }
        }
        return out;
    }

    static Stream<Case> caseStream() throws IOException {
        return cases().stream();
    }

    static String verdict(MeshYaml.Result r) {
        return !r.errors().isEmpty() ? "invalid" : !r.warnings().isEmpty() ? "warning" : "valid";
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("caseStream")
    void getsIstiosVerdict(Case c) {
        MeshYaml.Result r = MeshYaml.parse(c.file() + ".yaml", c.yaml());
        Difference differs = difference(c);
        String want = differs == null ? c.expect() : "invalid";
        String got = verdict(r);
        if (c.yaml().contains("mithril.io/warnings: unchecked") && got.equals("warning")) {
            got = "valid"; // the upstream table checks errors only
        }
        assertThat(got)
                .as(
                        "%s\nerrors: %s\nwarnings: %s",
                        c.yaml(),
                        r.errors().stream().map(ValidationError::toString).toList(),
                        r.warnings().stream().map(ValidationError::toString).toList())
                .isEqualTo(want);
    }

    /** The figures docs/mesh.md quotes. */
    @Test
    void tally() throws IOException {
        List<Case> all = cases();
        assertThat(all).hasSize(204);
        long differing = all.stream().filter(c -> difference(c) != null).count();
        System.out.printf(
                "Istio validation tables: %d cases run, %d behave as Istio, %d differ (unsupported features)%n",
                all.size(), all.size() - differing, differing);
        assertThat(differing).isEqualTo(EXPECTED_DIFFERING);
    }
}
