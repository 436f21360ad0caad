package io.mithril.controlplane.xds;

import io.envoyproxy.controlplane.cache.ConfigWatcher;
import io.envoyproxy.controlplane.cache.DeltaWatch;
import io.envoyproxy.controlplane.cache.DeltaXdsRequest;
import io.envoyproxy.controlplane.cache.Resources;
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
import io.mithril.controlplane.ProxyStatus;
import io.mithril.controlplane.ResourceFilter;
import io.mithril.mesh.compile.MeshCompiler;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.yaml.MeshYaml;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
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
 * snapshot per ADS connection in a {@link SimpleCache}, built from the Istio documents that concern
 * that proxy ({@link ResourceFilter}), compiled by {@link MeshCompiler} and translated by {@link
 * XdsTranslator}. Each resource type has its own version (a hash of its resources), so a change
 * that leaves a type alone does not resend it.
 *
 * <p>Like istiod, which keys proxies by connection, every stream has its own state and snapshot:
 * two streams claiming one node ID (a proxy reconnecting before its old stream is gone, or two
 * processes started with the same ID) are each served and each recorded, and neither replaces the
 * other's snapshot or ACKs.
 *
 * <p>The caller's identity is the SPIFFE ID of its client certificate ({@code peer}, set by the
 * control plane's interceptor); the namespace of the node ID must be that of the SPIFFE ID, as
 * istiod requires. A NACK is recorded and the rejected version is not sent again: the next response
 * on that stream is the next new version.
 */
public final class XdsServer {

    private static final Logger log = LoggerFactory.getLogger(XdsServer.class);
    private static final Map<String, String> TYPE_NAMES =
            Map.of(
                    Resources.V3.CLUSTER_TYPE_URL,
                    "CDS",
                    Resources.V3.ENDPOINT_TYPE_URL,
                    "EDS",
                    Resources.V3.LISTENER_TYPE_URL,
                    "LDS",
                    Resources.V3.ROUTE_TYPE_URL,
                    "RDS",
                    Resources.V3.SECRET_TYPE_URL,
                    "SDS");

    /**
     * The stream (and rejected version) of the request being handled: java-control-plane runs the
     * request callback and then creates the watch on the same thread, and the watch knows only the
     * request, whose node ID two streams may share.
     */
    private static final ThreadLocal<Pending> PENDING = new ThreadLocal<>();

    private final String trustDomain;
    private final List<String> trustDomainAliases;
    private final Supplier<ProxyIdentity> peer;
    private final Supplier<String> peerAddress;
    private final Supplier<ConfigSet> config;

    /** Keyed by connection ({@link Connection#key}), never by node ID. */
    private final SimpleCache<String> cache = new SimpleCache<>(node -> node.getId());

    private final V3DiscoveryServer server;
    private final Map<Long, Connection> connections = new ConcurrentHashMap<>();

    private record Pending(long streamId, String rejectedVersion) {}

    /**
     * @param trustDomain the mesh's trust domain (names SPIFFE IDs of service accounts)
     * @param peer the calling proxy's identity, read in the call's context
     * @param peerAddress the calling proxy's address, read in the call's context (for status)
     * @param config the configuration set currently served
     */
    public XdsServer(
            String trustDomain,
            Supplier<ProxyIdentity> peer,
            Supplier<String> peerAddress,
            Supplier<ConfigSet> config) {
        this(trustDomain, List.of(), peer, peerAddress, config);
    }

    /**
     * @param trustDomainAliases Istio's {@code meshConfig.trustDomainAliases} (see {@link
     *     ProxyNode})
     */
    public XdsServer(
            String trustDomain,
            List<String> trustDomainAliases,
            Supplier<ProxyIdentity> peer,
            Supplier<String> peerAddress,
            Supplier<ConfigSet> config) {
        this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
        this.trustDomainAliases = List.copyOf(trustDomainAliases);
        this.peer = Objects.requireNonNull(peer, "peer");
        this.peerAddress = Objects.requireNonNull(peerAddress, "peerAddress");
        this.config = Objects.requireNonNull(config, "config");
        this.server = new V3DiscoveryServer(new Callbacks(), new NackAwareWatcher());
    }

    /** {@code envoy.service.discovery.v3.AggregatedDiscoveryService}, to add to a gRPC server. */
    public BindableService ads() {
        return server.getAggregatedDiscoveryServiceImpl();
    }

    /**
     * Rebuilds the snapshot of every connection from the set now served (the config supplier's).
     */
    public void update() {
        for (Connection c : connections.values()) {
            if (c.node != null) {
                rebuild(c);
            }
        }
    }

    /** The node IDs with an open ADS stream, sorted, each once. */
    public List<String> connectedNodes() {
        return connections.values().stream()
                .filter(c -> c.node != null)
                .map(c -> c.node.id())
                .distinct()
                .sorted()
                .toList();
    }

    /**
     * Every ADS connection that has said which node it is, as {@code controlplane status} shows it.
     */
    public List<ProxyStatus> status() {
        List<ProxyStatus> out = new ArrayList<>();
        for (Connection c : connections.values()) {
            if (c.node == null) {
                continue;
            }
            synchronized (c) {
                Map<String, String> sent = new TreeMap<>();
                Map<String, String> acked = new TreeMap<>();
                Map<String, String> nacks = new TreeMap<>();
                c.sent.forEach((t, v) -> sent.put(typeName(t), v));
                c.acked.forEach((t, v) -> acked.put(typeName(t), v));
                c.nackError.forEach((t, v) -> nacks.put(typeName(t), v));
                out.add(
                        new ProxyStatus(
                                c.node.id(),
                                c.node.pod() + "." + c.node.namespace(),
                                c.identity.spiffeId().toString(),
                                c.node.kind() == ProxyNode.Kind.GATEWAY ? "gateway" : "sidecar",
                                c.node.namespace(),
                                c.node.labels(),
                                c.address,
                                c.connectedAt,
                                sent,
                                acked,
                                nacks));
            }
        }
        out.sort(
                Comparator.comparing(ProxyStatus::spiffeId)
                        .thenComparing(ProxyStatus::nodeId)
                        .thenComparing(ProxyStatus::connectedAt));
        return out;
    }

    /**
     * What the control plane holds for {@code nodeId} (its most recent connection when several
     * claim it), or null when no such node is connected.
     */
    public NodeDump dump(String nodeId) {
        Connection n =
                connections.values().stream()
                        .filter(c -> c.node != null && c.node.id().equals(nodeId))
                        .max(
                                Comparator.comparing((Connection c) -> c.connectedAt)
                                        .thenComparingLong(c -> c.streamId))
                        .orElse(null);
        if (n == null) {
            return null;
        }
        synchronized (n) {
            return new NodeDump(
                    n.node,
                    n.identity.spiffeId().toString(),
                    n.resources,
                    new TreeMap<>(n.sent),
                    new TreeMap<>(n.acked),
                    new TreeMap<>(n.nackError),
                    n.error);
        }
    }

    /**
     * One node as the config dump shows it.
     *
     * @param resources the resources of its current snapshot (null before the first valid compile)
     * @param sent type URL -> the version last sent
     * @param acked type URL -> the version last ACKed
     * @param nacks type URL -> the error of the last NACK, while it is the latest answer for that
     *     type
     * @param error why the last compile failed (the previous snapshot stays), or null
     */
    public record NodeDump(
            XdsNode node,
            String spiffeId,
            XdsResources resources,
            Map<String, String> sent,
            Map<String, String> acked,
            Map<String, String> nacks,
            String error) {}

    private static String typeName(String typeUrl) {
        return TYPE_NAMES.getOrDefault(typeUrl, typeUrl);
    }

    /**
     * Compiles {@code c}'s snapshot from the set served now. Per connection one at a time, each
     * reading the current set, so a compile that started on an older set cannot land last.
     */
    private void rebuild(Connection c) {
        // The compile lock, not c's monitor: the cache answers watches under its own lock and the
        // answer's callback takes c's monitor, so c's monitor is never held while calling the
        // cache.
        synchronized (c.compileLock) {
            if (c.closed) {
                return;
            }
            try {
                ConfigSet set = config.get();
                ProxyInfo info =
                        new ProxyInfo(
                                c.identity.spiffeId(),
                                c.node.kind() == ProxyNode.Kind.GATEWAY
                                        ? ProxyInfo.Kind.GATEWAY
                                        : ProxyInfo.Kind.SIDECAR,
                                c.node.namespace(),
                                c.node.labels(),
                                c.node.id());
                List<Resource> resources = new ArrayList<>();
                for (MeshDocument d : ResourceFilter.select(set.documents(), info)) {
                    resources.addAll(MeshYaml.parse(d.source(), d.yaml()).orThrow());
                }
                XdsResources xds =
                        XdsTranslator.translate(
                                MeshCompiler.compile(
                                        resources,
                                        c.node.proxyNode(trustDomain)
                                                .withTrustDomainAliases(trustDomainAliases)));
                Snapshot snap =
                        Snapshot.create(
                                xds.clusters(), XdsResources.versionOf(xds.clusters()),
                                xds.endpoints(), XdsResources.versionOf(xds.endpoints()),
                                xds.listeners(), XdsResources.versionOf(xds.listeners()),
                                xds.routes(), XdsResources.versionOf(xds.routes()),
                                List.of(), XdsResources.versionOf(List.of()));
                synchronized (c) {
                    c.resources = xds;
                    c.error = null;
                }
                cache.setSnapshot(c.key, snap);
            } catch (RuntimeException e) {
                synchronized (c) {
                    c.error = e.getMessage();
                }
                log.error(
                        "cannot compile the xDS configuration of node {}; it keeps its last snapshot: {}",
                        c.node.id(),
                        e.toString());
            }
        }
    }

    /** One ADS stream: the proxy on it, what it was sent and what it answered. */
    private static final class Connection {
        final long streamId;

        /** The cache's key for this stream's snapshot. */
        final String key;

        final ProxyIdentity identity;
        final String address;
        final Instant connectedAt = Instant.now();
        volatile XdsNode node;

        /** Orders compiles and the close of this connection's snapshot; see {@link #rebuild}. */
        final Object compileLock = new Object();

        boolean closed;
        XdsResources resources;
        String error;
        final Map<String, String> sent = new TreeMap<>();
        final Map<String, String> acked = new TreeMap<>();
        final Map<String, String> nackError = new TreeMap<>();
        final Map<String, String> nonceVersion = new ConcurrentHashMap<>();

        Connection(long streamId, ProxyIdentity identity, String address) {
            this.streamId = streamId;
            this.key = "stream-" + streamId;
            this.identity = identity;
            this.address = address == null ? "" : address;
        }
    }

    private final class Callbacks implements DiscoveryServerCallbacks {
        @Override
        public void onStreamOpen(long streamId, String typeUrl) throws RequestException {
            ProxyIdentity id = peer.get();
            if (id == null) {
                throw new RequestException(
                        Status.UNAUTHENTICATED.withDescription(
                                "no verified proxy identity on this call"));
            }
            connections.put(streamId, new Connection(streamId, id, peerAddress.get()));
        }

        @Override
        public void onV3StreamRequest(long streamId, DiscoveryRequest request)
                throws RequestException {
            PENDING.remove();
            Connection c = connections.get(streamId);
            if (c == null) {
                throw new RequestException(Status.INTERNAL.withDescription("unknown stream"));
            }
            if (!request.hasNode() || request.getNode().getId().isEmpty()) {
                throw new RequestException(
                        Status.INVALID_ARGUMENT.withDescription(
                                "every request must carry the node (do not set set_node_on_first_message_only)"));
            }
            if (c.node == null) {
                open(c, request);
            } else if (!c.node.id().equals(request.getNode().getId())) {
                throw new RequestException(
                        Status.INVALID_ARGUMENT.withDescription(
                                "the node ID changed on this stream from "
                                        + c.node.id()
                                        + " to "
                                        + request.getNode().getId()));
            }
            String version =
                    request.getResponseNonce().isEmpty()
                            ? null
                            : c.nonceVersion.get(request.getResponseNonce());
            PENDING.set(new Pending(streamId, request.hasErrorDetail() ? version : null));
            if (request.getResponseNonce().isEmpty()) {
                return;
            }
            synchronized (c) {
                if (request.hasErrorDetail()) {
                    String rejected = version == null ? "?" : version;
                    c.nackError.put(
                            request.getTypeUrl(),
                            "version " + rejected + ": " + request.getErrorDetail().getMessage());
                    log.warn(
                            "node {} ({}) NACKed {} version {} and keeps version {}: {}",
                            c.node.id(),
                            c.identity.spiffeId(),
                            request.getTypeUrl(),
                            rejected,
                            request.getVersionInfo(),
                            request.getErrorDetail().getMessage());
                } else {
                    c.acked.put(request.getTypeUrl(), request.getVersionInfo());
                    if (request.getVersionInfo().equals(c.sent.get(request.getTypeUrl()))) {
                        c.nackError.remove(request.getTypeUrl());
                    }
                }
            }
        }

        private void open(Connection c, DiscoveryRequest request) throws RequestException {
            XdsNode node;
            try {
                node = XdsNode.parse(request.getNode());
            } catch (IllegalArgumentException e) {
                throw new RequestException(Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
            }
            // Istio's rule: spiffe://td/ns/N/sa/S may only ask for namespace N's configuration.
            if (!node.namespace().equals(c.identity.namespace())) {
                String why =
                        "proxy "
                                + c.identity.spiffeId()
                                + " may not claim namespace \""
                                + node.namespace()
                                + "\" (node "
                                + node.id()
                                + "): its SPIFFE ID is in namespace \""
                                + c.identity.namespace()
                                + "\"";
                log.warn("refused xDS node from {}: {}", c.address, why);
                throw new RequestException(Status.PERMISSION_DENIED.withDescription(why));
            }
            c.node = node;
            long others =
                    connections.values().stream()
                            .filter(o -> o != c && o.node != null && o.node.id().equals(node.id()))
                            .count();
            rebuild(c);
            log.info(
                    "xDS node connected: {} as {} from {} labels={}{}",
                    node.id(),
                    c.identity.spiffeId(),
                    c.address,
                    node.labels(),
                    others == 0
                            ? ""
                            : " ("
                                    + (others + 1)
                                    + " streams claim this node ID; each is served on its own)");
        }

        @Override
        public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
                throws RequestException {
            throw new RequestException(
                    Status.UNIMPLEMENTED.withDescription(
                            "delta xDS is not served; use state of the world ADS"));
        }

        @Override
        public void onV3StreamResponse(
                long streamId, DiscoveryRequest request, DiscoveryResponse response) {
            Connection c = connections.get(streamId);
            if (c == null) {
                return;
            }
            c.nonceVersion.put(response.getNonce(), response.getVersionInfo());
            synchronized (c) {
                c.sent.put(response.getTypeUrl(), response.getVersionInfo());
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
            Connection c = connections.remove(streamId);
            if (c == null) {
                return;
            }
            synchronized (c.compileLock) {
                c.closed = true;
                cache.clearSnapshot(c.key);
            }
            if (c.node != null) {
                log.info(
                        "xDS node disconnected: {} ({}) from {}",
                        c.node.id(),
                        c.identity.spiffeId(),
                        c.address);
            }
        }
    }

    /**
     * The cache, keyed by the request's stream, except that a stream's first request of a type is
     * always answered, and a NACK waits for the next version instead of getting the rejected one
     * again (java-control-plane answers any request whose version_info differs from the snapshot's,
     * and a NACK carries the last good version).
     */
    private final class NackAwareWatcher implements ConfigWatcher {
        @Override
        public Watch createWatch(
                boolean ads,
                XdsRequest request,
                Set<String> knownResourceNames,
                Consumer<Response> responseConsumer,
                boolean hasClusterChanged,
                boolean allowReplaceProtocolVersion) {
            Pending pending = PENDING.get();
            PENDING.remove();
            // Fail closed: a watch whose stream is unknown gets the key of no snapshot, so no
            // answer.
            String key = pending == null ? "no-stream" : "stream-" + pending.streamId();
            DiscoveryRequest.Builder effective =
                    request.v3Request().toBuilder()
                            .setNode(request.v3Request().getNode().toBuilder().setId(key));
            if (pending != null && pending.rejectedVersion() != null) {
                effective.setVersionInfo(pending.rejectedVersion());
            } else if (request.v3Request().getResponseNonce().isEmpty()) {
                // A stream's first request of a type is always answered, as istiod does: a proxy
                // reconnecting with the versions it holds is told they are current (and can ACK
                // them), so status sees it in sync with this control plane.
                effective.clearVersionInfo();
            }
            return cache.createWatch(
                    ads,
                    XdsRequest.create(effective.build()),
                    knownResourceNames,
                    responseConsumer,
                    hasClusterChanged,
                    allowReplaceProtocolVersion);
        }

        @Override
        public DeltaWatch createDeltaWatch(
                DeltaXdsRequest request,
                String requesterVersion,
                Map<String, String> resourceVersions,
                Set<String> pendingResources,
                boolean isWildcard,
                Consumer<io.envoyproxy.controlplane.cache.DeltaResponse> responseConsumer,
                boolean hasClusterChanged) {
            return cache.createDeltaWatch(
                    request,
                    requesterVersion,
                    resourceVersions,
                    pendingResources,
                    isWildcard,
                    responseConsumer,
                    hasClusterChanged);
        }
    }
}
