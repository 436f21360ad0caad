package io.mithril.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Istio's path templates ({@code {*}}, {@code {**}}) in an AuthorizationPolicy reach Envoy as
 * RE2 regexes on the path (Istio sends them as {@code uri_template}); a template is never sent
 * as an exact path, which a DENY would then never match.
 */
class RbacPathTemplateTest {

    @Test
    void pathTemplatesBecomeRegexesThatMatchAsIstioMeansThem() {
        List<AuthorizationPolicy> deny = MeshYaml.parse("deny.yaml", """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: default}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/api/{*}/admin/{**}"]}}]}]
                """).orThrow().stream().map(AuthorizationPolicy.class::cast).toList();
        List<RBAC> rbac = RbacTranslator.translate(new RbacPolicy(deny, List.of()));
        String json = rbac.get(0).toString();
        assertThat(json).contains("safe_regex").doesNotContain("exact: \"/api/{*}/admin/{**}\"");
        List<String> regexes = new java.util.ArrayList<>();
        rbac.get(0).getPoliciesMap().values().forEach(p -> p.getPermissionsList().forEach(x -> regexes(x, regexes)));
        assertThat(regexes).hasSize(1);
        String regex = regexes.get(0);
        assertThat(Pattern.matches(regex, "/api/v1/admin/users/1")).isTrue();
        assertThat(Pattern.matches(regex, "/api/v1/admin/")).isTrue();
        assertThat(Pattern.matches(regex, "/api/v1/v2/admin/x")).isFalse();
        assertThat(Pattern.matches(regex, "/api//admin/x")).isFalse();
    }

    private static void regexes(io.envoyproxy.envoy.config.rbac.v3.Permission p, List<String> out) {
        if (p.hasUrlPath() && p.getUrlPath().getPath().hasSafeRegex()) {
            out.add(p.getUrlPath().getPath().getSafeRegex().getRegex());
        }
        p.getAndRules().getRulesList().forEach(x -> regexes(x, out));
        p.getOrRules().getRulesList().forEach(x -> regexes(x, out));
        if (p.hasNotRule()) {
            regexes(p.getNotRule(), out);
        }
    }
}
