package io.mithril.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.EndpointsConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import java.util.Map;

/**
 * The resources the control plane holds for one node as Envoy's {@code /config_dump} shows them: an
 * {@code envoy.admin.v3.ConfigDump} in JSON with Envoy's field names, every {@code Any} with its
 * {@code @type}.
 */
public final class XdsConfigDump {

    /** Every message type the translator puts in an {@code Any}, plus the dump's own. */
    public static final JsonFormat.TypeRegistry TYPES =
            JsonFormat.TypeRegistry.newBuilder()
                    .add(Listener.getDescriptor())
                    .add(RouteConfiguration.getDescriptor())
                    .add(Cluster.getDescriptor())
                    .add(ClusterLoadAssignment.getDescriptor())
                    .add(HttpConnectionManager.getDescriptor())
                    .add(RBAC.getDescriptor())
                    .add(UriTemplateMatchConfig.getDescriptor())
                    .add(Router.getDescriptor())
                    .add(TlsInspector.getDescriptor())
                    .add(DownstreamTlsContext.getDescriptor())
                    .add(UpstreamTlsContext.getDescriptor())
                    .add(ClustersConfigDump.getDescriptor())
                    .add(ListenersConfigDump.getDescriptor())
                    .add(RoutesConfigDump.getDescriptor())
                    .add(EndpointsConfigDump.getDescriptor())
                    .build();

    private XdsConfigDump() {}

    /**
     * The config dump of {@code resources}, each type with the version last sent ({@code sent}:
     * type URL -> version).
     */
    public static ConfigDump of(XdsResources resources, Map<String, String> sent) {
        String cds = sent.getOrDefault(Resources.V3.CLUSTER_TYPE_URL, "");
        String eds = sent.getOrDefault(Resources.V3.ENDPOINT_TYPE_URL, "");
        String lds = sent.getOrDefault(Resources.V3.LISTENER_TYPE_URL, "");
        String rds = sent.getOrDefault(Resources.V3.ROUTE_TYPE_URL, "");
        ClustersConfigDump.Builder c = ClustersConfigDump.newBuilder().setVersionInfo(cds);
        resources
                .clusters()
                .forEach(
                        x ->
                                c.addDynamicActiveClusters(
                                        ClustersConfigDump.DynamicCluster.newBuilder()
                                                .setVersionInfo(cds)
                                                .setCluster(Any.pack(x))));
        EndpointsConfigDump.Builder e = EndpointsConfigDump.newBuilder();
        resources
                .endpoints()
                .forEach(
                        x ->
                                e.addDynamicEndpointConfigs(
                                        EndpointsConfigDump.DynamicEndpointConfig.newBuilder()
                                                .setVersionInfo(eds)
                                                .setEndpointConfig(Any.pack(x))));
        ListenersConfigDump.Builder l = ListenersConfigDump.newBuilder().setVersionInfo(lds);
        resources
                .listeners()
                .forEach(
                        x ->
                                l.addDynamicListeners(
                                        ListenersConfigDump.DynamicListener.newBuilder()
                                                .setName(x.getName())
                                                .setActiveState(
                                                        ListenersConfigDump.DynamicListenerState
                                                                .newBuilder()
                                                                .setVersionInfo(lds)
                                                                .setListener(Any.pack(x)))));
        RoutesConfigDump.Builder r = RoutesConfigDump.newBuilder();
        resources
                .routes()
                .forEach(
                        x ->
                                r.addDynamicRouteConfigs(
                                        RoutesConfigDump.DynamicRouteConfig.newBuilder()
                                                .setVersionInfo(rds)
                                                .setRouteConfig(Any.pack(x))));
        return ConfigDump.newBuilder()
                .addConfigs(Any.pack(c.build()))
                .addConfigs(Any.pack(e.build()))
                .addConfigs(Any.pack(l.build()))
                .addConfigs(Any.pack(r.build()))
                .build();
    }

    /** {@code m} as JSON with Envoy's (proto) field names and {@code @type} on every Any. */
    public static String json(Message m) {
        try {
            return JsonFormat.printer()
                    .usingTypeRegistry(TYPES)
                    .preservingProtoFieldNames()
                    .print(m);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(
                    "a resource holds a type the config dump does not know: " + e.getMessage(), e);
        }
    }
}
