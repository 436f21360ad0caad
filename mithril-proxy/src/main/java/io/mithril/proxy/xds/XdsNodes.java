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
 * ID {@code sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local} ({@code router~...} for a
 * gateway), metadata {@code LABELS} (strings), {@code NAMESPACE}, and for a sidecar {@code
 * MITHRIL_INBOUND} ({@code 127.0.1.1:9080=127.0.1.1:19080,...}: every inbound listener's address
 * and port and its application's) and {@code MITHRIL_OUTBOUND} ({@code 127.0.0.1:15001}).
 */
public final class XdsNodes {

    private XdsNodes() {}

    /** The node for {@code node}, its ID naming {@code ip} and {@code pod}. */
    public static Node of(ProxyNode node, String ip, String pod) {
        String ns = node.namespace();
        String type = node.kind() == ProxyNode.Kind.GATEWAY ? "router" : "sidecar";
        Struct.Builder labels = Struct.newBuilder();
        new TreeMap<>(node.labels()).forEach((k, v) -> labels.putFields(k, string(v)));
        Struct.Builder meta =
                Struct.newBuilder()
                        .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
                        .putFields("NAMESPACE", string(ns));
        if (node.kind() == ProxyNode.Kind.SIDECAR) {
            if (!node.inbound().isEmpty()) {
                meta.putFields(
                        "MITHRIL_INBOUND",
                        string(
                                node.inbound().stream()
                                        .map(
                                                p ->
                                                        hostPort(p.address(), p.port())
                                                                + "="
                                                                + hostPort(
                                                                        p.appAddress(),
                                                                        p.appPort()))
                                        .collect(Collectors.joining(","))));
            }
            if (node.outboundPort() > 0) {
                meta.putFields(
                        "MITHRIL_OUTBOUND",
                        string(hostPort(node.outboundAddress(), node.outboundPort())));
            }
        }
        return Node.newBuilder()
                .setId(type + "~" + ip + "~" + pod + "." + ns + "~" + ns + ".svc.cluster.local")
                .setCluster(
                        node.kind() == ProxyNode.Kind.GATEWAY ? gatewayCluster(node.labels()) : pod)
                .setMetadata(meta)
                .build();
    }

    /** {@code address:port}, an IPv6 address in brackets. */
    static String hostPort(String address, int port) {
        return (address.contains(":") ? "[" + address + "]" : address) + ":" + port;
    }

    private static String gatewayCluster(Map<String, String> labels) {
        String istio = labels.get("istio");
        return istio == null ? "istio-gateway" : "istio-" + istio;
    }

    private static Value string(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }
}
