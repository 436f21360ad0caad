package io.mithril.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio's path templates ({@code {*}}, {@code {**}}) in an AuthorizationPolicy reach Envoy as
 * istiod sends them: a {@code uri_template} permission whose template writes the operators {@code
 * *} and {@code **} ({@code matcher.PathTemplateMatcher}); never as an exact path, which a DENY
 * would then never match, and with no trailing-slash alternative beside it.
 */
class RbacPathTemplateTest {

    @Test
    void pathTemplatesBecomeUriTemplatePermissionsAsIstiodWritesThem() throws Exception {
        List<AuthorizationPolicy> deny =
                MeshYaml.parse(
                                "deny.yaml",
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-admin, namespace: default}
                spec:
                  action: DENY
                  rules: [{to: [{operation: {paths: ["/api/{*}/admin/{**}", "/x/{*}"]}}]}]
                """)
                        .orThrow()
                        .stream()
                        .map(AuthorizationPolicy.class::cast)
                        .toList();
        List<RBAC> rbac = RbacTranslator.translate(new RbacPolicy(deny, List.of()));
        List<Permission> templates = new ArrayList<>();
        rbac.get(0)
                .getPoliciesMap()
                .values()
                .forEach(p -> p.getPermissionsList().forEach(x -> templates(x, templates)));
        List<String> sent = new ArrayList<>();
        for (Permission p : templates) {
            assertThat(p.getUriTemplate().getName())
                    .isEqualTo("envoy.path.match.uri_template.uri_template_matcher");
            sent.add(
                    p.getUriTemplate()
                            .getTypedConfig()
                            .unpack(UriTemplateMatchConfig.class)
                            .getPathTemplate());
        }
        assertThat(sent).containsExactly("/api/*/admin/**", "/x/*");
        assertThat(rbac.get(0).toString()).doesNotContain("{*}").doesNotContain("/x/*/");
        // The admin config dump prints it (its JSON type registry knows UriTemplateMatchConfig).
        assertThat(XdsConfigDump.json(rbac.get(0)))
                .contains("\"path_template\": \"/api/*/admin/**\"");
    }

    private static void templates(Permission p, List<Permission> out) {
        if (p.hasUriTemplate()) {
            out.add(p);
        }
        p.getAndRules().getRulesList().forEach(x -> templates(x, out));
        p.getOrRules().getRulesList().forEach(x -> templates(x, out));
        if (p.hasNotRule()) {
            templates(p.getNotRule(), out);
        }
    }
}
