package io.mithril.controlplane.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.controlplane.server.exception.RequestException;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.BindableService;
import io.grpc.Status;
import io.mithril.controlplane.ConfigSet;
import io.mithril.controlplane.MeshDocument;
import io.mithril.controlplane.ProxyIdentity;
import io.mithril.controlplane.ProxyInfo;
import io.mithril.controlplane.ResourceFilter;
import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's ADS (state of the world, xDS v3) with Envoy's java-control-plane: one
 * snapshot per connected node ID in a {@link SimpleCache}, built from the same documents the
 * native stream would send that proxy ({@link ResourceFilter}), compiled by {@link MeshCompiler}
 * and translated by {@link XdsTranslator}. Each resource type has its own version (a hash of its
 * resources), so a change that leaves a type alone does not resend it.
 *
 * <p>The caller's identity is the SPIFFE ID of its client certificate ({@code peer}, set by the
 * control plane's interceptor); the namespace of the node ID must be that of the SPIFFE ID,
 * exactly as for a native Hello. A NACK is recorded and the rejected version is not sent again:
 * the next response to that node is the next new version.
 */
public final class XdsServer {

    private static final Logger log = LoggerFactory.getLogger(XdsServer.class);

    private final String trustDomain;
    private final Supplier<ProxyIdentity> peer;
    private final Supplier<ConfigSet> config;
    private final SimpleCache<String> cache = new SimpleCache<>(node -> node.getId());
    private final V3DiscoveryServer server;
    private final Map<Long, Stream> streams = new ConcurrentHashMap<>();
    private final Map<String, NodeState> nodes = new ConcurrentHashMap<>();
    /** NACK requests and the version they reject, handed from the callback to the watch it precedes. */
    private final Map<DiscoveryRequest, String> nacked = new ConcurrentHashMap<>();

    /**
     * @param trustDomain the mesh's trust domain (names SPIFFE IDs of service accounts)
     * @param peer        the calling proxy's identity, read in the call's context
     * @param config      the configuration set currently served
     */
    public XdsServer(String trustDomain, Supplier<ProxyIdentity> peer, Supplier<ConfigSet> config) {
        this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        this.peer = Objects.requireNonNull(peer, "peer");
        this.config = Objects.requireNonNull(config, "config");
        this.server = new V3DiscoveryServer(new Callbacks(), new NackAwareWatcher());
    }

    /** {@code envoy.service.discovery.v3.AggregatedDiscoveryService}, to add to a gRPC server. */
    public BindableService ads() {
        return server.getAggregatedDiscoveryServiceImpl();
    }

    /** Rebuilds the snapshot of every connected node from {@code set}. */
    public void update(ConfigSet set) {
        for (NodeState n : nodes.values()) {
            rebuild(n, set);
        }
    }

    /** The node IDs with an open ADS stream, sorted. */
    public List<String> connectedNodes() {
        return new ArrayList<>(new TreeMap<>(nodes).keySet());
    }

    /** What the control plane holds for {@code nodeId}, or null when no such node is connected. */
    public NodeDump dump(String nodeId) {
        NodeState n = nodes.get(nodeId);
        if (n == null) {
            return null;
        }
        synchronized (n) {
            return new NodeDump(n.node, n.identity.spiffeId().toString(), n.resources, new TreeMap<>(n.sent),
                    new TreeMap<>(n.acked), new TreeMap<>(n.nackError), n.error);
        }
    }

    /**
     * One node as the config dump shows it.
     *
     * @param resources the resources of its current snapshot (null before the first valid compile)
     * @param sent      type URL -> the version last sent
     * @param acked     type URL -> the version last ACKed
     * @param nacks     type URL -> the error of the last NACK, while it is the latest answer for that type
     * @param error     why the last compile failed (the previous snapshot stays), or null
     */
    public record NodeDump(XdsNode node, String spiffeId, XdsResources resources, Map<String, String> sent,
                           Map<String, String> acked, Map<String, String> nacks, String error) {
    }

    private void rebuild(NodeState n, ConfigSet set) {
        try {
            ProxyInfo info = new ProxyInfo(n.identity.spiffeId(), n.node.kind() == ProxyNode.Kind.GATEWAY
                    ? ProxyInfo.Kind.GATEWAY : ProxyInfo.Kind.SIDECAR, n.node.namespace(), n.node.labels(), n.node.id());
            List<Resource> resources = new ArrayList<>();
            for (MeshDocument d : ResourceFilter.select(set.documents(), info)) {
                resources.addAll(MeshYaml.parse(d.source(), d.yaml()).orThrow());
            }
            XdsResources xds = XdsTranslator.translate(MeshCompiler.compile(resources, n.node.proxyNode(trustDomain)));
            Snapshot snap = Snapshot.create(
                    xds.clusters(), XdsResources.versionOf(xds.clusters()),
                    xds.endpoints(), XdsResources.versionOf(xds.endpoints()),
                    xds.listeners(), XdsResources.versionOf(xds.listeners()),
                    xds.routes(), XdsResources.versionOf(xds.routes()),
                    List.of(), XdsResources.versionOf(List.of()));
            synchronized (n) {
                n.resources = xds;
                n.error = null;
            }
            cache.setSnapshot(n.node.id(), snap);
        } catch (RuntimeException e) {
            synchronized (n) {
                n.error = e.getMessage();
            }
            log.error("cannot compile the xDS configuration of node {}; it keeps its last snapshot: {}", n.node.id(), e.toString());
        }
    }

    /** One ADS stream. */
    private static final class Stream {
        final ProxyIdentity identity;
        volatile String nodeId;

        Stream(ProxyIdentity identity) {
            this.identity = identity;
        }
    }

    /** One node ID and its streams (usually one; a reconnecting proxy briefly has two). */
    private static final class NodeState {
        final XdsNode node;
        final ProxyIdentity identity;
        int streams;
        XdsResources resources;
        String error;
        final Map<String, String> sent = new TreeMap<>();
        final Map<String, String> acked = new TreeMap<>();
        final Map<String, String> nackError = new TreeMap<>();
        final Map<String, String> nonceVersion = new ConcurrentHashMap<>();

        NodeState(XdsNode node, ProxyIdentity identity) {
            this.node = node;
            this.identity = identity;
        }
    }

    private final class Callbacks implements DiscoveryServerCallbacks {
        @Override
        public void onStreamOpen(long streamId, String typeUrl) throws RequestException {
            ProxyIdentity id = peer.get();
            if (id == null) {
                throw new RequestException(Status.UNAUTHENTICATED.withDescription("no verified proxy identity on this call"));
            }
            streams.put(streamId, new Stream(id));
        }

        @Override
        public void onV3StreamRequest(long streamId, DiscoveryRequest request) throws RequestException {
            Stream s = streams.get(streamId);
            if (s == null) {
                throw new RequestException(Status.INTERNAL.withDescription("unknown stream"));
            }
            if (!request.hasNode() || request.getNode().getId().isEmpty()) {
                throw new RequestException(Status.INVALID_ARGUMENT.withDescription(
                        "every request must carry the node (do not set set_node_on_first_message_only)"));
            }
            if (s.nodeId == null) {
                open(s, request);
            } else if (!s.nodeId.equals(request.getNode().getId())) {
                throw new RequestException(Status.INVALID_ARGUMENT.withDescription("the node ID changed on this stream from "
                        + s.nodeId + " to " + request.getNode().getId()));
            }
            if (request.getResponseNonce().isEmpty()) {
                return;
            }
            NodeState n = nodes.get(s.nodeId);
            String version = n.nonceVersion.get(streamId + "/" + request.getResponseNonce());
            synchronized (n) {
                if (request.hasErrorDetail()) {
                    String rejected = version == null ? "?" : version;
                    n.nackError.put(request.getTypeUrl(), "version " + rejected + ": " + request.getErrorDetail().getMessage());
                    if (version != null) {
                        nacked.put(request, version);
                    }
                    log.warn("node {} ({}) NACKed {} version {} and keeps version {}: {}", s.nodeId, s.identity.spiffeId(),
                            request.getTypeUrl(), rejected, request.getVersionInfo(), request.getErrorDetail().getMessage());
                } else {
                    n.acked.put(request.getTypeUrl(), request.getVersionInfo());
                    if (request.getVersionInfo().equals(n.sent.get(request.getTypeUrl()))) {
                        n.nackError.remove(request.getTypeUrl());
                    }
                }
            }
        }

        private void open(Stream s, DiscoveryRequest request) throws RequestException {
            XdsNode node;
            try {
                node = XdsNode.parse(request.getNode());
            } catch (IllegalArgumentException e) {
                throw new RequestException(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            }
            // Istio's rule, as for a native Hello: spiffe://td/ns/N/sa/S may only ask for namespace N's configuration.
            if (!node.namespace().equals(s.identity.namespace())) {
                String why = "proxy " + s.identity.spiffeId() + " may not claim namespace \"" + node.namespace()
                        + "\" (node " + node.id() + "): its SPIFFE ID is in namespace \"" + s.identity.namespace() + "\"";
                log.warn("refused xDS node: {}", why);
                throw new RequestException(Status.PERMISSION_DENIED.withDescription(why));
            }
            NodeState fresh = new NodeState(node, s.identity);
            NodeState n = nodes.compute(node.id(), (k, old) -> {
                if (old != null && old.node.equals(node) && old.identity.equals(s.identity)) {
                    old.streams++;
                    return old;
                }
                fresh.streams = old == null ? 1 : old.streams + 1;
                return fresh;
            });
            s.nodeId = node.id();
            if (n == fresh) {
                rebuild(n, config.get());
            }
            log.info("xDS node connected: {} as {} labels={}", node.id(), s.identity.spiffeId(), node.labels());
        }

        @Override
        public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) throws RequestException {
            throw new RequestException(Status.UNIMPLEMENTED.withDescription("delta xDS is not served; use state of the world ADS"));
        }

        @Override
        public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
            Stream s = streams.get(streamId);
            NodeState n = s == null || s.nodeId == null ? null : nodes.get(s.nodeId);
            if (n == null) {
                return;
            }
            n.nonceVersion.put(streamId + "/" + response.getNonce(), response.getVersionInfo());
            synchronized (n) {
                n.sent.put(response.getTypeUrl(), response.getVersionInfo());
            }
        }

        @Override
        public void onStreamClose(long streamId, String typeUrl) {
            closed(streamId);
        }

        @Override
        public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
            closed(streamId);
        }

        private void closed(long streamId) {
            Stream s = streams.remove(streamId);
            if (s == null || s.nodeId == null) {
                return;
            }
            String prefix = streamId + "/";
            nodes.computeIfPresent(s.nodeId, (k, n) -> {
                n.nonceVersion.keySet().removeIf(key -> key.startsWith(prefix));
                n.streams--;
                return n.streams <= 0 ? null : n;
            });
            if (!nodes.containsKey(s.nodeId)) {
                cache.clearSnapshot(s.nodeId);
                log.info("xDS node disconnected: {}", s.nodeId);
            }
        }
    }

    /**
     * The cache, except that a NACK waits for the next version instead of getting the rejected
     * one again (java-control-plane answers any request whose version_info differs from the
     * snapshot's, and a NACK carries the last good version).
     */
    private final class NackAwareWatcher implements ConfigWatcher {
        @Override
        public Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
                                 Consumer<Response> responseConsumer, boolean hasClusterChanged,
                                 boolean allowReplaceProtocolVersion) {
            String rejected = request.hasErrorDetail() ? nacked.remove(request.v3Request()) : null;
            XdsRequest effective = rejected == null ? request
                    : XdsRequest.create(request.v3Request().toBuilder().setVersionInfo(rejected).build());
            return cache.createWatch(ads, effective, knownResourceNames, responseConsumer, hasClusterChanged,
                    allowReplaceProtocolVersion);
        }

        @Override
        public DeltaWatch createDeltaWatch(DeltaXdsRequest request, String requesterVersion,
                                           Map<String, String> resourceVersions, Set<String> pendingResources,
                                           boolean isWildcard, Consumer<io.envoyproxy.controlplane.cache.DeltaResponse> responseConsumer,
                                           boolean hasClusterChanged) {
            return cache.createDeltaWatch(request, requesterVersion, resourceVersions, pendingResources, isWildcard,
                    responseConsumer, hasClusterChanged);
        }
    }
}
