package io.mithril.controlplane.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import org.junit.jupiter.api.Test;

/**
 * One file per object: a namespace can never take over another namespace's file (and so its
 * policy).
 */
class KubernetesConfigMirrorFileNameTest {

    private static GenericKubernetesResource object(String namespace, String name) {
        GenericKubernetesResource o = new GenericKubernetesResource();
        o.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
        return o;
    }

    @Test
    void namespaceAndNameThatJoinToTheSameTextGetDifferentFiles() {
        String prod =
                KubernetesConfigMirror.fileName("AuthorizationPolicy", object("prod", "x-deny"));
        String prodX =
                KubernetesConfigMirror.fileName("AuthorizationPolicy", object("prod-x", "deny"));
        assertThat(prod).isEqualTo("k8s-authorizationpolicy-prod_x-deny.yaml");
        assertThat(prodX).isEqualTo("k8s-authorizationpolicy-prod-x_deny.yaml");
    }
}
