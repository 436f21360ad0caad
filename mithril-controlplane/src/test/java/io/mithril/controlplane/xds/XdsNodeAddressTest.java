package io.mithril.controlplane.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import org.junit.jupiter.api.Test;

/**
 * The addresses in a node's MITHRIL_INBOUND/OUTBOUND metadata are IP literals as the mesh reads
 * them everywhere else ({@code MeshYaml.isIpAddress}, Go's {@code netip.ParseAddr}): a host name,
 * an octet over 255 or with a leading zero is refused; IPv6 in brackets is read.
 */
class XdsNodeAddressTest {

    private static XdsNode node(String inbound) {
        return XdsNode.parse(
                Node.newBuilder()
                        .setId("sidecar~10.0.0.1~pp.default~default.svc.cluster.local")
                        .setMetadata(
                                Struct.newBuilder()
                                        .putFields(
                                                "MITHRIL_INBOUND",
                                                Value.newBuilder().setStringValue(inbound).build()))
                        .build());
    }

    @Test
    void inboundAddressesAreIpLiteralsAsTheMeshReadsThem() {
        assertThat(node("10.213.0.4:9080=127.0.0.1:19080").proxyNode("example.org").inbound())
                .hasSize(1);
        assertThat(node("[::1]:9080=[fd00::1]:19080").proxyNode("example.org").inbound())
                .hasSize(1);
        for (String bad :
                new String[] {
                    "pod:9080=19080",
                    "10.0.0.256:9080=19080",
                    "010.0.0.1:9080=19080",
                    "9080=app.local:19080"
                }) {
            assertThatThrownBy(() -> node(bad))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("is not an IP address");
        }
    }
}
