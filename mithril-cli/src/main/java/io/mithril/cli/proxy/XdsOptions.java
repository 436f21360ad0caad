package io.mithril.cli.proxy;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.identity.IdentitySource;
import io.mithril.proxy.xds.XdsClient;
import io.mithril.proxy.xds.XdsNodes;
import io.mithril.spiffe.id.SpiffeId;
import java.net.InetAddress;
import javax.net.ssl.SSLException;

/**
 * {@code -controlPlane}: the proxy as an xDS client. Its node ID is Istio's ({@code
 * sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local}, {@code router~...} for a gateway)
 * with the labels and, for a sidecar, its inbound listeners, their applications and its outbound
 * listener (addresses and ports) in the metadata the control plane's XdsNode reads.
 */
final class XdsOptions {

    private XdsOptions() {}

    static XdsClient start(
            String target,
            SpiffeId controlPlaneId,
            IdentitySource identity,
            ProxyNode node,
            Proxy proxy)
            throws SSLException {
        return XdsClient.start(
                target,
                controlPlaneId,
                identity,
                XdsNodes.of(node, ip(node), podName()),
                node,
                proxy::applyCompiled);
    }

    /**
     * The workload's address for the node ID: its first specific inbound address, else this host's.
     */
    static String ip(ProxyNode node) {
        for (ProxyNode.InboundPort p : node.inbound()) {
            if (!p.address().equals("0.0.0.0") && !p.address().equals("::")) {
                return p.address();
            }
        }
        try {
            return InetAddress.getLocalHost().getHostAddress();
        } catch (java.io.IOException e) {
            return "127.0.0.1";
        }
    }

    /**
     * A pod name for the node ID: host name and process ID, without the dots the ID's syntax
     * reserves.
     */
    static String podName() {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "proxy";
        }
        return (host + "-" + ProcessHandle.current().pid()).replaceAll("[.~]", "-");
    }
}
