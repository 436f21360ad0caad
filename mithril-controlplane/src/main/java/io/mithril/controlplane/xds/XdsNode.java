package io.mithril.controlplane.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An Envoy node as istiod reads it. The node ID has Istio's form {@code
 * <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local}, {@code type} being {@code sidecar}
 * or {@code router} (a gateway); the labels are the node metadata's {@code LABELS} struct (string
 * values). A sidecar's inbound listeners come from the metadata string {@code MITHRIL_INBOUND}
 * ({@code 10.0.0.5:9080=127.0.0.1:19080,9443=19443}: {@code [address:]port=[application
 * address:]application port}, as {@code mithril proxy sidecar -inbound}; the listener address
 * defaults to {@code 0.0.0.0}, the application's to {@code 127.0.0.1}) and its outbound HTTP proxy
 * from {@code MITHRIL_OUTBOUND} ({@code [address:]port}, default address {@code 127.0.0.1}); Istio
 * takes those from Kubernetes Services and the pod's network, which we do not have.
 *
 * @param id the whole node ID
 * @param kind sidecar or gateway
 * @param ip the proxy's IP address as it claims it
 * @param pod the workload (pod) name
 * @param namespace the namespace the ID claims
 */
public record XdsNode(
        String id,
        ProxyNode.Kind kind,
        String ip,
        String pod,
        String namespace,
        Map<String, String> labels,
        List<ProxyNode.InboundPort> inbound,
        String outboundAddress,
        int outboundPort) {

    public XdsNode {
        labels = Map.copyOf(labels);
        inbound = List.copyOf(inbound);
    }

    /**
     * Reads {@code node}.
     *
     * @throws IllegalArgumentException with a message saying what is wrong and what is expected
     */
    public static XdsNode parse(Node node) {
        String id = node.getId();
        String[] part = id.split("~", -1);
        if (part.length != 4) {
            throw new IllegalArgumentException(
                    "node ID \""
                            + id
                            + "\" is not of Istio's form "
                            + "sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local (or router~... for a gateway)");
        }
        ProxyNode.Kind kind =
                switch (part[0]) {
                    case "sidecar" -> ProxyNode.Kind.SIDECAR;
                    case "router" -> ProxyNode.Kind.GATEWAY;
                    default ->
                            throw new IllegalArgumentException(
                                    "node ID \""
                                            + id
                                            + "\": type \""
                                            + part[0]
                                            + "\" is neither sidecar nor router");
                };
        int dot = part[2].indexOf('.');
        if (part[1].isEmpty() || dot <= 0 || dot == part[2].length() - 1) {
            throw new IllegalArgumentException(
                    "node ID \""
                            + id
                            + "\": expected <ip>~<pod>.<namespace>, got \""
                            + part[1]
                            + "~"
                            + part[2]
                            + "\"");
        }
        String pod = part[2].substring(0, dot);
        String namespace = part[2].substring(dot + 1);
        if (!part[3].equals(namespace + ".svc.cluster.local")) {
            throw new IllegalArgumentException(
                    "node ID \""
                            + id
                            + "\": DNS domain \""
                            + part[3]
                            + "\" is not "
                            + namespace
                            + ".svc.cluster.local");
        }
        Struct meta = node.getMetadata();
        Map<String, String> labels = new TreeMap<>();
        Value l = meta.getFieldsOrDefault("LABELS", Value.getDefaultInstance());
        if (l.hasStructValue()) {
            l.getStructValue()
                    .getFieldsMap()
                    .forEach(
                            (k, v) ->
                                    labels.put(
                                            k,
                                            v.hasStringValue()
                                                    ? v.getStringValue()
                                                    : com.google.protobuf.TextFormat
                                                            .shortDebugString(v)));
        }
        Value ns = meta.getFieldsOrDefault("NAMESPACE", Value.getDefaultInstance());
        if (ns.hasStringValue() && !ns.getStringValue().equals(namespace)) {
            throw new IllegalArgumentException(
                    "node "
                            + id
                            + ": metadata NAMESPACE \""
                            + ns.getStringValue()
                            + "\" differs from the node ID's namespace \""
                            + namespace
                            + "\"");
        }
        List<ProxyNode.InboundPort> inbound = new ArrayList<>();
        String in = string(meta, "MITHRIL_INBOUND");
        if (!in.isBlank()) {
            for (String pair : in.split(",")) {
                String[] pp = pair.trim().split("=", -1);
                try {
                    if (pp.length != 2) {
                        throw new IllegalArgumentException(
                                "\"" + pair.trim() + "\" has no single '='");
                    }
                    HostPort listen = HostPort.parse(pp[0], "0.0.0.0");
                    HostPort app = HostPort.parse(pp[1], "127.0.0.1");
                    inbound.add(
                            new ProxyNode.InboundPort(
                                    listen.host(), listen.port(), app.host(), app.port()));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(
                            "node "
                                    + id
                                    + ": metadata MITHRIL_INBOUND \""
                                    + in
                                    + "\": expected [<address>:]<port>=[<application address>:]<application port>[,...]: "
                                    + e.getMessage());
                }
            }
        }
        String out = string(meta, "MITHRIL_OUTBOUND");
        HostPort outbound;
        try {
            outbound =
                    out.isBlank() ? new HostPort("127.0.0.1", 0) : HostPort.parse(out, "127.0.0.1");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "node "
                            + id
                            + ": metadata MITHRIL_OUTBOUND \""
                            + out
                            + "\": expected [<address>:]<port>: "
                            + e.getMessage());
        }
        return new XdsNode(
                id,
                kind,
                part[1],
                pod,
                namespace,
                labels,
                inbound,
                outbound.host(),
                outbound.port());
    }

    /** The node the mesh compiler compiles for. */
    public ProxyNode proxyNode(String trustDomain) {
        return kind == ProxyNode.Kind.GATEWAY
                ? ProxyNode.gateway(namespace, labels, trustDomain)
                : ProxyNode.sidecar(
                        namespace, labels, trustDomain, inbound, outboundAddress, outboundPort);
    }

    private static String string(Struct meta, String key) {
        Value v = meta.getFieldsOrDefault(key, Value.getDefaultInstance());
        if (v.hasNumberValue()) {
            return Long.toString((long) v.getNumberValue());
        }
        return v.hasStringValue() ? v.getStringValue() : "";
    }

    /** {@code [address:]port}; an IPv6 address in brackets ({@code [::1]:9080}). */
    private record HostPort(String host, int port) {
        static HostPort parse(String s, String defaultHost) {
            String t = s.trim();
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                return new HostPort(defaultHost, XdsNode.port(t));
            }
            String host = t.substring(0, colon);
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            if (!MeshYaml.isIpAddress(host)) {
                throw new IllegalArgumentException("\"" + host + "\" is not an IP address");
            }
            return new HostPort(host, XdsNode.port(t.substring(colon + 1)));
        }
    }

    private static int port(String s) {
        int p;
        try {
            p = Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + s + "\" is not a port");
        }
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException(p + " is not a port (1-65535)");
        }
        return p;
    }
}
