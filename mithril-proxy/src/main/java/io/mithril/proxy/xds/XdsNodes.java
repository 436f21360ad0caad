package io.mithril.proxy.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mithril.mesh.config.ProxyNode;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The Envoy node a proxy presents, in the form the control plane's {@code XdsNode} reads (Istio's):
 * ID {@code sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local} ({@code router~...} for
 * a gateway), metadata {@code LABELS} (strings), {@code NAMESPACE}, and for a sidecar
 * {@code MITHRIL_INBOUND} ({@code 9080=19080,...}) and {@code MITHRIL_OUTBOUND_PORT}.
 */
public final class XdsNodes {

    private XdsNodes() {
    }

    /** The node for {@code node}, its ID naming {@code ip} and {@code pod}. */
    public static Node of(ProxyNode node, String ip, String pod) {
        String ns = node.namespace();
        String type = node.kind() == ProxyNode.Kind.GATEWAY ? "router" : "sidecar";
        Struct.Builder labels = Struct.newBuilder();
        new TreeMap<>(node.labels()).forEach((k, v) -> labels.putFields(k, string(v)));
        Struct.Builder meta = Struct.newBuilder()
                .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
                .putFields("NAMESPACE", string(ns));
        if (node.kind() == ProxyNode.Kind.SIDECAR) {
            if (!node.inbound().isEmpty()) {
                meta.putFields("MITHRIL_INBOUND", string(node.inbound().stream().map(p -> p.port() + "=" + p.appPort())
                        .collect(Collectors.joining(","))));
            }
            if (node.outboundPort() > 0) {
                meta.putFields("MITHRIL_OUTBOUND_PORT", string(Integer.toString(node.outboundPort())));
            }
        }
        return Node.newBuilder()
                .setId(type + "~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local")
                .setCluster(node.kind() == ProxyNode.Kind.GATEWAY ? gatewayCluster(node.labels()) : pod)
                .setMetadata(meta)
                .build();
    }

    private static String gatewayCluster(Map<String, String> labels) {
        String istio = labels.get("istio");
        return istio == null ? "istio-gateway" : "istio-" + istio;
    }

    private static Value string(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
