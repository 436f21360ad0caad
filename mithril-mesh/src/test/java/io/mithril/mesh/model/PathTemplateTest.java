package io.mithril.mesh.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.mesh.yaml.ValidationError;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Path templates match what Envoy's {@code uri_template} matcher matches for the template istiod
 * sends it (the cases follow Envoy's {@code uri_template_internal.cc}: segments joined by '/',
 * {@code *} one pchar+ segment, {@code **} pchar-or-'/'*, the query and fragment ignored).
 */
class PathTemplateTest {

    private static boolean m(String template, String path) {
        return PathTemplate.parse(template).matches(path);
    }

    @Test
    void oneSegmentIsOneNonEmptySegmentWithoutATrailingSlash() {
        assertThat(m("/a/{*}", "/a/x")).isTrue();
        assertThat(m("/a/{*}", "/a/x/")).as("Envoy does not match the trailing slash").isFalse();
        assertThat(m("/a/{*}", "/a/")).isFalse();
        assertThat(m("/a/{*}", "/a")).isFalse();
        assertThat(m("/a/{*}", "/a/x/y")).isFalse();
        assertThat(m("/a/{*}/", "/a/x/")).as("a template that ends in '/' asks for it").isTrue();
        assertThat(m("/a/{*}/", "/a/x")).isFalse();
        assertThat(m("/a/{*}/b", "/a/x/b")).isTrue();
        assertThat(m("/a/{*}/b", "/a/x/b/")).isFalse();
        assertThat(m("/a/{*}", "/a/x=1;y:@!$&'()+,~%41")).as("every pchar").isTrue();
        assertThat(m("/a/{*}", "/a/x*")).as("'*' is not a pchar").isFalse();
    }

    @Test
    void theRestIsAnyPathIncludingEmptyButNotWithoutItsSlash() {
        assertThat(m("/a/{**}", "/a/")).isTrue();
        assertThat(m("/a/{**}", "/a/x/y/")).isTrue();
        assertThat(m("/a/{**}", "/a")).isFalse();
        assertThat(m("/a/{**}", "/ab")).isFalse();
        assertThat(m("/{**}", "/")).isTrue();
        assertThat(m("/a/{*}/{**}", "/a/x/")).isTrue();
        assertThat(m("/a/{*}/{**}", "/a/x")).isFalse();
    }

    @Test
    void theQueryAndFragmentAreNotPartOfThePath() {
        assertThat(m("/a/{*}", "/a/x?y=/z/")).isTrue();
        assertThat(m("/a/{*}", "/a/x#/z/")).isTrue();
        assertThat(m("/a/{*}", "/a/x/?y")).isFalse();
    }

    @Test
    void istiodsFormForEnvoyAndBack() {
        PathTemplate t = PathTemplate.parse("/api/{*}/admin/{**}");
        assertThat(t.envoyTemplate()).isEqualTo("/api/*/admin/**");
        assertThat(PathTemplate.fromEnvoy("/api/*/admin/**").template())
                .isEqualTo("/api/{*}/admin/{**}");
        assertThat(PathTemplate.fromEnvoy("/api/*/admin/**")).isEqualTo(t);
        assertThat(PathTemplate.fromEnvoy("/**.mpd").matches("/a/b/index.mpd"))
                .as("Envoy's suffix")
                .isTrue();
        assertThat(PathTemplate.fromEnvoy("/**.mpd").matches("/a/b/index.mpd/")).isFalse();
    }

    @Test
    void whatEnvoysParserRefusesIsRefused() {
        for (String bad :
                List.of(
                        "api/{*}",
                        "/a//{*}",
                        "//a/{*}",
                        "/a/{*}//",
                        "/a/{**}/{*}",
                        "/a/b c/{*}",
                        "/a/{*}/x*y")) {
            assertThatThrownBy(() -> PathTemplate.parse(bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> PathTemplate.fromEnvoy("/a/{name}"))
                .hasMessageContaining("named variables");
    }

    @Test
    void aPolicyWithATemplateEnvoyWouldRefuseIsRefusedAtItsLine() {
        List<ValidationError> errs =
                MeshYaml.parse(
                                "authz.yaml",
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: t, namespace: default}
                spec:
                  action: DENY
                  rules:
                  - to:
                    - operation:
                        paths: ["api/{*}"]
                """)
                        .errors();
        assertThat(errs).hasSize(1);
        assertThat(errs.get(0).toString())
                .contains("authz.yaml:9:")
                .contains("api/{*}")
                .contains("must start with '/'");
    }
}
