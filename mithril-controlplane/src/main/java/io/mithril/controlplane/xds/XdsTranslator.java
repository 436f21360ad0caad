package io.mithril.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.mithril.mesh.config.DownstreamTls;
import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.config.RouteMatch;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.StringMatch;
import io.mithril.mesh.model.VirtualService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Translates one proxy's compiled configuration ({@link ProxyConfig}, what our proxy runs) into the
 * Envoy v3 resources Envoy would need for the same behaviour: listeners with an
 * HttpConnectionManager (RBAC filters, router, routes over RDS), route configurations, clusters
 * (EDS over ADS for STATIC endpoints, STRICT_DNS inline) and their ClusterLoadAssignments. TLS
 * refers to SDS secrets by SPIRE's names ({@link SdsTls}); no key is ever inlined.
 *
 * <p>What {@link ProxyConfig} has that is not translated (so Envoy would not do it): fault
 * injection, CORS, a route match on the port, {@code maxRequestsPerConnection} and {@code
 * idleTimeout} of a connection pool, and the PASSTHROUGH load balancer.
 */
public final class XdsTranslator {

    private static final String TYPE_PREFIX = "type.googleapis.com/";

    private XdsTranslator() {}

    /** The resources for {@code config}. */
    public static XdsResources translate(ProxyConfig config) {
        List<io.envoyproxy.envoy.config.listener.v3.Listener> listeners = new ArrayList<>();
        for (Listener l : config.listeners()) {
            listeners.add(listener(l, config));
        }
        listeners.sort(
                Comparator.comparing(io.envoyproxy.envoy.config.listener.v3.Listener::getName));
        List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes = new ArrayList<>();
        for (RouteConfiguration rc : config.routes().values()) {
            routes.add(routeConfiguration(rc));
        }
        List<Cluster> clusters = new ArrayList<>();
        List<ClusterLoadAssignment> endpoints = new ArrayList<>();
        for (io.mithril.mesh.config.Cluster c : config.clusters().values()) {
            clusters.add(cluster(c));
            if (c.type() == io.mithril.mesh.config.Cluster.Type.STATIC) {
                endpoints.add(loadAssignment(c));
            }
        }
        return new XdsResources(listeners, routes, clusters, endpoints);
    }

    /** ADS as the config source (RDS, EDS), as Istio's sidecars use it. */
    static ConfigSource ads() {
        return ConfigSource.newBuilder()
                .setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(ApiVersion.V3)
                .build();
    }

    // ---- listeners

    private static io.envoyproxy.envoy.config.listener.v3.Listener listener(
            Listener l, ProxyConfig config) {
        io.envoyproxy.envoy.config.listener.v3.Listener.Builder b =
                io.envoyproxy.envoy.config.listener.v3.Listener.newBuilder()
                        .setName(l.name())
                        .setAddress(address(l.address(), l.port()));
        switch (l.direction()) {
            case INBOUND -> b.setTrafficDirection(TrafficDirection.INBOUND);
            case OUTBOUND -> b.setTrafficDirection(TrafficDirection.OUTBOUND);
            case GATEWAY -> {
                /* Istio leaves a gateway's listener UNSPECIFIED */
            }
        }
        boolean mixed = l.hasTls() && l.hasPlaintext();
        boolean sni =
                l.filterChains().stream()
                        .anyMatch(c -> c.tls() != null && !c.serverNames().isEmpty());
        if (l.hasTls() && (mixed || sni)) {
            b.addListenerFilters(
                    ListenerFilter.newBuilder()
                            .setName("envoy.filters.listener.tls_inspector")
                            .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())));
        }
        boolean authorize = l.direction() != Listener.Direction.OUTBOUND;
        for (FilterChain c : l.filterChains()) {
            b.addFilterChains(
                    filterChain(
                            l,
                            c,
                            mixed || sni,
                            authorize ? RbacTranslator.translate(config.rbac()) : List.of()));
        }
        return b.build();
    }

    private static io.envoyproxy.envoy.config.listener.v3.FilterChain filterChain(
            Listener l,
            FilterChain c,
            boolean match,
            List<io.envoyproxy.envoy.config.rbac.v3.RBAC> rbac) {
        io.envoyproxy.envoy.config.listener.v3.FilterChain.Builder b =
                io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder().setName(c.name());
        if (match) {
            FilterChainMatch.Builder m =
                    FilterChainMatch.newBuilder()
                            .setTransportProtocol(c.tls() == null ? "raw_buffer" : "tls");
            if (c.tls() != null) {
                m.addAllServerNames(c.serverNames().stream().filter(n -> !n.equals("*")).toList());
            }
            b.setFilterChainMatch(m);
        }
        if (c.tls() != null) {
            b.setTransportSocket(
                    TransportSocket.newBuilder()
                            .setName("envoy.transport_sockets.tls")
                            .setTypedConfig(Any.pack(downstreamTls(c.tls()))));
        }
        HttpConnectionManager.Builder hcm =
                HttpConnectionManager.newBuilder()
                        .setStatPrefix(l.name())
                        .setCodecType(HttpConnectionManager.CodecType.AUTO)
                        .setNormalizePath(BoolValue.of(true))
                        .setMergeSlashes(true)
                        .setPathWithEscapedSlashesAction(
                                HttpConnectionManager.PathWithEscapedSlashesAction
                                        .UNESCAPE_AND_REDIRECT)
                        .setUseRemoteAddress(
                                BoolValue.of(l.direction() == Listener.Direction.GATEWAY));
        if (c.httpsRedirect()) {
            hcm.setRouteConfig(
                    io.envoyproxy.envoy.config.route.v3.RouteConfiguration.newBuilder()
                            .setName(c.name() + "-https-redirect")
                            .addVirtualHosts(
                                    VirtualHost.newBuilder()
                                            .setName("https-redirect")
                                            .addDomains("*")
                                            .setRequireTls(VirtualHost.TlsRequirementType.ALL)
                                            .addRoutes(
                                                    io.envoyproxy.envoy.config.route.v3.Route
                                                            .newBuilder()
                                                            .setMatch(
                                                                    io.envoyproxy.envoy.config.route
                                                                            .v3.RouteMatch
                                                                            .newBuilder()
                                                                            .setPrefix("/"))
                                                            .setRedirect(
                                                                    RedirectAction.newBuilder()
                                                                            .setHttpsRedirect(
                                                                                    true)))));
        } else {
            hcm.setRds(
                    Rds.newBuilder()
                            .setConfigSource(ads())
                            .setRouteConfigName(c.routeConfigName()));
        }
        if (c.inbound() && c.tls() != null) {
            hcm.setForwardClientCertDetails(
                            HttpConnectionManager.ForwardClientCertDetails.SANITIZE_SET)
                    .setSetCurrentClientCertDetails(
                            HttpConnectionManager.SetCurrentClientCertDetails.newBuilder()
                                    .setUri(true)
                                    .setSubject(BoolValue.of(true))
                                    .setDns(true));
        }
        for (io.envoyproxy.envoy.config.rbac.v3.RBAC r : rbac) {
            hcm.addHttpFilters(
                    HttpFilter.newBuilder()
                            .setName("envoy.filters.http.rbac")
                            .setTypedConfig(Any.pack(RBAC.newBuilder().setRules(r).build())));
        }
        hcm.addHttpFilters(
                HttpFilter.newBuilder()
                        .setName("envoy.filters.http.router")
                        .setTypedConfig(Any.pack(Router.getDefaultInstance())));
        b.addFilters(
                Filter.newBuilder()
                        .setName("envoy.filters.network.http_connection_manager")
                        .setTypedConfig(Any.pack(hcm.build())));
        return b.build();
    }

    private static DownstreamTlsContext downstreamTls(DownstreamTls tls) {
        DownstreamTlsContext.Builder b =
                DownstreamTlsContext.newBuilder()
                        .setRequireClientCertificate(BoolValue.of(tls.requireClientCertificate()));
        var common =
                tls.usesSvid()
                        ? SdsTls.svid(tls.subjectAltNames(), tls.trustDomains(), tls.alpn())
                        : SdsTls.files(
                                tls.certificateFile(),
                                tls.privateKeyFile(),
                                tls.caCertificatesFile(),
                                tls.subjectAltNames(),
                                tls.alpn());
        common.setTlsParams(SdsTls.params(tls.minProtocolVersion(), tls.maxProtocolVersion()));
        return b.setCommonTlsContext(common).build();
    }

    // ---- routes

    private static io.envoyproxy.envoy.config.route.v3.RouteConfiguration routeConfiguration(
            RouteConfiguration rc) {
        io.envoyproxy.envoy.config.route.v3.RouteConfiguration.Builder b =
                io.envoyproxy.envoy.config.route.v3.RouteConfiguration.newBuilder()
                        .setName(rc.name())
                        .setValidateClusters(BoolValue.of(false));
        for (io.mithril.mesh.config.VirtualHost vh : rc.virtualHosts()) {
            VirtualHost.Builder v =
                    VirtualHost.newBuilder().setName(vh.name()).addAllDomains(vh.domains());
            for (Route r : vh.routes()) {
                v.addRoutes(route(r));
            }
            b.addVirtualHosts(v);
        }
        return b.build();
    }

    private static io.envoyproxy.envoy.config.route.v3.Route route(Route r) {
        io.envoyproxy.envoy.config.route.v3.Route.Builder b =
                io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                        .setName(r.source() == null ? "" : r.source())
                        .setMatch(match(r.match()));
        if (r.action() instanceof Route.Forward f) {
            b.setRoute(forward(f, r));
        } else if (r.action() instanceof Route.Redirect rd) {
            RedirectAction.Builder a =
                    RedirectAction.newBuilder().setResponseCode(redirectCode(rd.code()));
            if (rd.path() != null) {
                a.setPathRedirect(rd.path());
            }
            if (rd.authority() != null) {
                a.setHostRedirect(rd.authority());
            }
            if (rd.port() != null) {
                a.setPortRedirect(rd.port());
            }
            if (rd.scheme() != null) {
                a.setSchemeRedirect(rd.scheme());
            }
            b.setRedirect(a);
        } else if (r.action() instanceof Route.DirectResponse d) {
            DirectResponseAction.Builder a =
                    DirectResponseAction.newBuilder().setStatus(d.status());
            if (d.body() != null && !d.body().isEmpty()) {
                a.setBody(DataSource.newBuilder().setInlineString(d.body()));
            }
            b.setDirectResponse(a);
        }
        if (r.headers() != null) {
            VirtualService.HeaderOperations req = r.headers().request();
            VirtualService.HeaderOperations resp = r.headers().response();
            b.addAllRequestHeadersToAdd(headerOps(req)).addAllRequestHeadersToRemove(req.remove());
            b.addAllResponseHeadersToAdd(headerOps(resp))
                    .addAllResponseHeadersToRemove(resp.remove());
        }
        return b.build();
    }

    private static RouteAction forward(Route.Forward f, Route r) {
        RouteAction.Builder a = RouteAction.newBuilder();
        if (f.clusters().size() == 1 && noHeaders(f.clusters().get(0).headers())) {
            a.setCluster(f.clusters().get(0).cluster());
        } else {
            WeightedCluster.Builder w = WeightedCluster.newBuilder();
            for (Route.WeightedCluster c : f.clusters()) {
                WeightedCluster.ClusterWeight.Builder cw =
                        WeightedCluster.ClusterWeight.newBuilder()
                                .setName(c.cluster())
                                .setWeight(UInt32Value.of(c.weight()));
                if (c.headers() != null) {
                    cw.addAllRequestHeadersToAdd(headerOps(c.headers().request()))
                            .addAllRequestHeadersToRemove(c.headers().request().remove())
                            .addAllResponseHeadersToAdd(headerOps(c.headers().response()))
                            .addAllResponseHeadersToRemove(c.headers().response().remove());
                }
                w.addClusters(cw);
            }
            a.setWeightedClusters(w);
        }
        if (f.prefixRewrite() != null) {
            a.setPrefixRewrite(f.prefixRewrite());
        }
        if (f.authorityRewrite() != null) {
            a.setHostRewriteLiteral(f.authorityRewrite());
        }
        if (r.timeout() != null) {
            a.setTimeout(duration(r.timeout()));
        }
        if (r.retries() != null && r.retries().attempts() > 0) {
            RetryPolicy.Builder p =
                    RetryPolicy.newBuilder()
                            .setNumRetries(UInt32Value.of(r.retries().attempts()))
                            .setRetryOn(String.join(",", r.retries().retryOn()));
            if (r.retries().retryOn().contains("retriable-status-codes")) {
                p.addRetriableStatusCodes(503);
            }
            if (r.retries().perTryTimeout() != null) {
                p.setPerTryTimeout(duration(r.retries().perTryTimeout()));
            }
            a.setRetryPolicy(p);
        }
        if (r.mirror() != null) {
            a.addRequestMirrorPolicies(
                    RouteAction.RequestMirrorPolicy.newBuilder()
                            .setCluster(r.mirror().cluster())
                            .setRuntimeFraction(
                                    RuntimeFractionalPercent.newBuilder()
                                            .setDefaultValue(
                                                    FractionalPercent.newBuilder()
                                                            .setNumerator(
                                                                    (int)
                                                                            Math.round(
                                                                                    r.mirror()
                                                                                                    .percent()
                                                                                            * 10_000))
                                                            .setDenominator(
                                                                    FractionalPercent
                                                                            .DenominatorType
                                                                            .MILLION))));
        }
        return a.build();
    }

    private static boolean noHeaders(VirtualService.Headers h) {
        return h == null
                || h.equals(VirtualService.Headers.NONE)
                || h.request().set().isEmpty()
                        && h.request().add().isEmpty()
                        && h.request().remove().isEmpty()
                        && h.response().set().isEmpty()
                        && h.response().add().isEmpty()
                        && h.response().remove().isEmpty();
    }

    private static List<HeaderValueOption> headerOps(VirtualService.HeaderOperations ops) {
        List<HeaderValueOption> out = new ArrayList<>();
        new TreeMap<>(ops.set())
                .forEach(
                        (k, v) ->
                                out.add(
                                        HeaderValueOption.newBuilder()
                                                .setHeader(
                                                        HeaderValue.newBuilder()
                                                                .setKey(k)
                                                                .setValue(v))
                                                .setAppendAction(
                                                        HeaderValueOption.HeaderAppendAction
                                                                .OVERWRITE_IF_EXISTS_OR_ADD)
                                                .build()));
        new TreeMap<>(ops.add())
                .forEach(
                        (k, v) ->
                                out.add(
                                        HeaderValueOption.newBuilder()
                                                .setHeader(
                                                        HeaderValue.newBuilder()
                                                                .setKey(k)
                                                                .setValue(v))
                                                .setAppendAction(
                                                        HeaderValueOption.HeaderAppendAction
                                                                .APPEND_IF_EXISTS_OR_ADD)
                                                .build()));
        return out;
    }

    private static RedirectAction.RedirectResponseCode redirectCode(int code) {
        return switch (code) {
            case 302 -> RedirectAction.RedirectResponseCode.FOUND;
            case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
            case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
            case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
            default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        };
    }

    private static io.envoyproxy.envoy.config.route.v3.RouteMatch match(RouteMatch m) {
        io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder b =
                io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder();
        if (m.path() == null) {
            b.setPrefix("/");
        } else if (m.path() instanceof StringMatch.Exact e) {
            b.setPath(e.value());
        } else if (m.path() instanceof StringMatch.Prefix p) {
            b.setPrefix(p.value());
        } else if (m.path() instanceof StringMatch.Regex r) {
            b.setSafeRegex(RegexMatcher.newBuilder().setRegex(r.regex()));
        }
        if (m.ignoreCase()) {
            b.setCaseSensitive(BoolValue.of(false));
        }
        addHeader(b, ":method", m.method(), false);
        addHeader(b, ":authority", m.authority(), false);
        addHeader(b, ":scheme", m.scheme(), false);
        new TreeMap<>(m.headers()).forEach((k, v) -> addHeader(b, k, v, false));
        new TreeMap<>(m.withoutHeaders()).forEach((k, v) -> addHeader(b, k, v, true));
        new TreeMap<>(m.queryParams())
                .forEach(
                        (k, v) ->
                                b.addQueryParameters(
                                        QueryParameterMatcher.newBuilder()
                                                .setName(k)
                                                .setStringMatch(stringMatcher(v))));
        return b.build();
    }

    private static void addHeader(
            io.envoyproxy.envoy.config.route.v3.RouteMatch.Builder b,
            String name,
            StringMatch m,
            boolean invert) {
        if (m != null) {
            b.addHeaders(
                    HeaderMatcher.newBuilder()
                            .setName(name)
                            .setStringMatch(stringMatcher(m))
                            .setInvertMatch(invert));
        }
    }

    static StringMatcher stringMatcher(StringMatch m) {
        if (m instanceof StringMatch.Exact e) {
            return StringMatcher.newBuilder().setExact(e.value()).build();
        } else if (m instanceof StringMatch.Prefix p) {
            return p.value().isEmpty()
                    ? RbacTranslator.regex(".*")
                    : StringMatcher.newBuilder().setPrefix(p.value()).build();
        }
        return RbacTranslator.regex(((StringMatch.Regex) m).regex());
    }

    // ---- clusters and endpoints

    private static Cluster cluster(io.mithril.mesh.config.Cluster c) {
        Cluster.Builder b =
                Cluster.newBuilder()
                        .setName(c.name())
                        .setConnectTimeout(
                                duration(
                                        c.connectTimeout() == null
                                                ? Duration.ofSeconds(10)
                                                : c.connectTimeout()))
                        .setLbPolicy(lbPolicy(c.lbPolicy()));
        if (c.type() == io.mithril.mesh.config.Cluster.Type.STATIC) {
            b.setType(Cluster.DiscoveryType.EDS)
                    .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(ads()));
        } else {
            b.setType(Cluster.DiscoveryType.STRICT_DNS).setLoadAssignment(loadAssignment(c));
        }
        if (c.tls() != null) {
            b.setTransportSocket(
                    TransportSocket.newBuilder()
                            .setName("envoy.transport_sockets.tls")
                            .setTypedConfig(Any.pack(upstreamTls(c.tls()))));
        }
        DestinationRule.OutlierDetection od = c.outlierDetection();
        if (od != null) {
            OutlierDetection.Builder o =
                    OutlierDetection.newBuilder()
                            .setConsecutive5Xx(UInt32Value.of(od.consecutive5xxErrors()))
                            .setMaxEjectionPercent(UInt32Value.of(od.maxEjectionPercent()));
            if (od.interval() != null) {
                o.setInterval(duration(od.interval()));
            }
            if (od.baseEjectionTime() != null) {
                o.setBaseEjectionTime(duration(od.baseEjectionTime()));
            }
            b.setOutlierDetection(o);
        }
        DestinationRule.ConnectionPool pool = c.connectionPool();
        if (pool != null) {
            CircuitBreakers.Thresholds.Builder t = CircuitBreakers.Thresholds.newBuilder();
            if (pool.maxConnections() != null) {
                t.setMaxConnections(UInt32Value.of(pool.maxConnections()));
            }
            if (pool.http1MaxPendingRequests() != null) {
                t.setMaxPendingRequests(UInt32Value.of(pool.http1MaxPendingRequests()));
            }
            if (pool.http2MaxRequests() != null) {
                t.setMaxRequests(UInt32Value.of(pool.http2MaxRequests()));
            }
            if (pool.maxRetries() != null) {
                t.setMaxRetries(UInt32Value.of(pool.maxRetries()));
            }
            b.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(t));
            if (pool.connectTimeout() != null) {
                b.setConnectTimeout(duration(pool.connectTimeout()));
            }
        }
        return b.build();
    }

    private static UpstreamTlsContext upstreamTls(UpstreamTls tls) {
        UpstreamTlsContext.Builder b = UpstreamTlsContext.newBuilder();
        if (tls.sni() != null) {
            b.setSni(tls.sni());
        }
        if (tls.mode() == UpstreamTls.Mode.ISTIO_MUTUAL) {
            return b.setCommonTlsContext(SdsTls.svid(tls.expectedSubjectAltNames(), List.of()))
                    .build();
        }
        return b.setCommonTlsContext(
                        SdsTls.origination(
                                tls.clientCertificateFile(),
                                tls.privateKeyFile(),
                                tls.caCertificatesFile(),
                                tls.insecureSkipVerify(),
                                tls.expectedSubjectAltNames()))
                .build();
    }

    private static Cluster.LbPolicy lbPolicy(DestinationRule.SimpleLb lb) {
        if (lb == null) {
            return Cluster.LbPolicy.ROUND_ROBIN;
        }
        return switch (lb) {
            case LEAST_CONN, LEAST_REQUEST -> Cluster.LbPolicy.LEAST_REQUEST;
            case RANDOM -> Cluster.LbPolicy.RANDOM;
            default -> Cluster.LbPolicy.ROUND_ROBIN;
        };
    }

    private static ClusterLoadAssignment loadAssignment(io.mithril.mesh.config.Cluster c) {
        LocalityLbEndpoints.Builder locality = LocalityLbEndpoints.newBuilder();
        for (io.mithril.mesh.config.Cluster.Endpoint e : c.endpoints()) {
            LbEndpoint.Builder lb =
                    LbEndpoint.newBuilder()
                            .setEndpoint(
                                    Endpoint.newBuilder()
                                            .setAddress(address(e.address(), e.port())));
            if (e.weight() > 0) {
                lb.setLoadBalancingWeight(UInt32Value.of(e.weight()));
            }
            locality.addLbEndpoints(lb);
        }
        ClusterLoadAssignment.Builder b =
                ClusterLoadAssignment.newBuilder().setClusterName(c.name());
        if (!c.endpoints().isEmpty()) {
            b.addEndpoints(locality);
        }
        return b.build();
    }

    private static Address address(String host, int port) {
        return Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
                .build();
    }

    private static com.google.protobuf.Duration duration(Duration d) {
        return com.google.protobuf.Duration.newBuilder()
                .setSeconds(d.getSeconds())
                .setNanos(d.getNano())
                .build();
    }

    /** {@code type.googleapis.com/<full name>} of a resource type. */
    static String typeUrl(com.google.protobuf.Descriptors.Descriptor d) {
        return TYPE_PREFIX + d.getFullName();
    }

    /** The names of {@code m}'s keys sorted, for logs. */
    static String names(Map<String, ?> m) {
        return String.join(",", new TreeMap<>(m).keySet());
    }
}
