package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.SpiffeId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProxyIdentityTest {

    @Test
    void istioWorkloadIdentityNamesItsNamespaceAndServiceAccount() {
        ProxyIdentity p =
                ProxyIdentity.of(
                        SpiffeId.parse(
                                "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account"));
        assertThat(p.namespace()).isEqualTo("istio-system");
        assertThat(p.serviceAccount()).isEqualTo("istio-ingressgateway-service-account");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "spiffe://example.org/foo",
                "spiffe://example.org/ns/a",
                "spiffe://example.org/ns/a/sa",
                "spiffe://example.org/ns/a/sa/b/c",
                "spiffe://example.org/sa/b/ns/a",
                "spiffe://example.org/NS/a/SA/b",
                "spiffe://example.org/x/ns/a/sa/b",
                "spiffe://example.org/spire/server",
                "spiffe://example.org/cluster2/node"
            })
    void anyOtherPathIsNotAProxyIdentity(String id) {
        assertThatThrownBy(() -> ProxyIdentity.of(SpiffeId.parse(id)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "SPIFFE ID "
                                + id
                                + " is not a proxy identity: expected spiffe://example.org/ns/<namespace>/sa/<service account>");
    }
}
