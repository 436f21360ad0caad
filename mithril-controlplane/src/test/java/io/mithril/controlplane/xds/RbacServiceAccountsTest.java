package io.mithril.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * AuthorizationPolicy {@code serviceAccounts} reach Envoy as istiod sends them: an authenticated
 * principal whose name matches the regex {@code spiffe://.+/ns/<ns>/(.+/|)sa/<sa>(/.+)?}.
 */
class RbacServiceAccountsTest {

    @Test
    void serviceAccountsBecomeIstiodsRegex() throws Exception {
        List<AuthorizationPolicy> deny =
                MeshYaml.parse(
                                "deny.yaml",
                                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-sleep, namespace: default}
                spec:
                  action: DENY
                  rules: [{from: [{source: {serviceAccounts: ["sleep", "other/client"]}}]}]
                """)
                        .orThrow()
                        .stream()
                        .map(AuthorizationPolicy.class::cast)
                        .toList();
        List<RBAC> rbac = RbacTranslator.translate(new RbacPolicy(deny, List.of()));
        String sent = rbac.get(0).toString();
        assertThat(sent)
                .contains("regex: \"spiffe://.+/ns/default/(.+/|)sa/sleep(/.+)?\"")
                .contains("regex: \"spiffe://.+/ns/other/(.+/|)sa/client(/.+)?\"")
                .doesNotContain("suffix");
    }
}
