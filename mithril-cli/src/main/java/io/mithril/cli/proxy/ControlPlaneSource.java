package io.mithril.cli.proxy;

import io.mithril.controlplane.ControlPlaneClient;
import io.mithril.controlplane.IdentitySource;
import io.mithril.controlplane.ProxyInfo;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.identity.Identity;
import io.mithril.spiffe.bundle.BundleSource;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.BundleNotFoundException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.svid.X509Svid;
import java.net.InetAddress;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's configuration from the control plane ({@code -controlPlane ADDRESS -controlPlaneID
 * SPIFFE_ID}) instead of a directory: each snapshot is parsed with the same mesh parser and
 * applied with the same {@link Proxy#apply} as {@code -configDir} files are; a snapshot that
 * does not parse or compile is NACKed and the proxy keeps its configuration. The stream uses the
 * proxy's own SVID and bundles, and starts once the proxy has an SVID.
 */
final class ControlPlaneSource implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneSource.class);

    private final String target;
    private final SpiffeId controlPlaneId;
    private final io.mithril.proxy.identity.IdentitySource identity;
    private final ControlPlaneClient.Node node;
    private final Proxy proxy;
    private volatile ControlPlaneClient client;
    private volatile boolean closed;

    private ControlPlaneSource(String target, SpiffeId controlPlaneId, io.mithril.proxy.identity.IdentitySource identity,
                               ControlPlaneClient.Node node, Proxy proxy) {
        this.target = target;
        this.controlPlaneId = controlPlaneId;
        this.identity = identity;
        this.node = node;
        this.proxy = proxy;
    }

    static ControlPlaneSource start(String target, SpiffeId controlPlaneId, io.mithril.proxy.identity.IdentitySource identity,
                                    ProxyNode node, Proxy proxy) {
        String name = hostName() + "-" + ProcessHandle.current().pid();
        ControlPlaneClient.Node hello = new ControlPlaneClient.Node(
                node.kind() == ProxyNode.Kind.GATEWAY ? ProxyInfo.Kind.GATEWAY : ProxyInfo.Kind.SIDECAR,
                node.namespace(), node.labels(), name);
        ControlPlaneSource source = new ControlPlaneSource(target, controlPlaneId, identity, hello, proxy);
        identity.addListener(id -> source.connectOnce());
        return source;
    }

    private synchronized void connectOnce() {
        if (client != null || closed) {
            return;
        }
        try {
            client = ControlPlaneClient.start(target, controlPlaneId, adapt(identity), node, this::apply);
        } catch (SSLException e) {
            log.error("cannot set up TLS to the control plane at {}: {}", target, e.getMessage());
        }
    }

    private void apply(ControlPlaneClient.ConfigSnapshot snapshot) {
        List<Resource> resources = MeshYaml.parse("control plane " + target + " version " + snapshot.version(), snapshot.yaml())
                .orThrow();
        proxy.apply(resources);
    }

    /** The proxy's identity as the control plane client reads it: the current SVID and bundles. */
    private static IdentitySource adapt(io.mithril.proxy.identity.IdentitySource ids) {
        return new IdentitySource() {
            @Override
            public X509Svid svid() {
                Identity id = ids.current();
                return id == null ? null : X509Svid.of(id.chain(), id.privateKey());
            }

            @Override
            public BundleSource<X509Bundle> bundles() {
                return td -> {
                    Identity id = ids.current();
                    List<java.security.cert.X509Certificate> roots = id == null ? null : id.bundles().get(td);
                    if (roots == null) {
                        throw new BundleNotFoundException(td);
                    }
                    return X509Bundle.of(td, roots);
                };
            }
        };
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            return "proxy";
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (client != null) {
            client.close();
        }
    }
}
