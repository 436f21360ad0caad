package io.mithril.proxy.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mithril.mesh.config.Cluster;
import io.mithril.mesh.config.DownstreamTls;
import io.mithril.mesh.config.FilterChain;
import io.mithril.mesh.config.Listener;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.config.Route;
import io.mithril.mesh.config.RouteConfiguration;
import io.mithril.mesh.config.RouteMatch;
import io.mithril.mesh.config.UpstreamTls;
import io.mithril.mesh.config.VirtualHost;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.StringMatch;
import io.mithril.mesh.model.VirtualService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Envoy v3 resources (what ADS sends) to the proxy's compiled configuration: the inverse of the
 * control plane's {@code XdsTranslator} for everything it emits. TLS that names the SDS secrets
 * {@value #SDS_CERTIFICATE} and {@value #SDS_ROOT_CA} is the proxy's own SVID and bundles from the
 * Workload API (ISTIO_MUTUAL); certificate files (SIMPLE / MUTUAL) stay file names.
 *
 * <p>Whatever the proxy cannot do as Envoy would is refused with {@link XdsRejectedException} (the
 * client NACKs it) rather than applied approximately: inline key material, other SDS secrets,
 * filters other than RBAC and the router, route or cluster kinds it does not know.
 */
public final class XdsConfigTranslator {

    /** SPIRE's SDS name for the workload's X509-SVID and key. */
    public static final String SDS_CERTIFICATE = "default";

    /** SPIRE's SDS name for the trust bundle. */
    public static final String SDS_ROOT_CA = "ROOTCA";

    /** Istio's SDS name for the system's trust store (TLS origination without caCertificates). */
    public static final String SDS_SYSTEM_ROOTS = "file-root:system";

    private static final String HCM = "envoy.filters.network.http_connection_manager";

    private XdsConfigTranslator() {}

    /**
     * The configuration these resources describe for {@code node}.
     *
     * @param endpoints the ClusterLoadAssignments by cluster name (EDS clusters need theirs)
     * @throws XdsRejectedException saying which resource cannot be applied and why
     */
    public static ProxyConfig translate(
            ProxyNode node,
            Collection<io.envoyproxy.envoy.config.listener.v3.Listener> listeners,
            Collection<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes,
            Collection<io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters,
            Map<String, ClusterLoadAssignment> endpoints) {
        List<Listener> ls = new ArrayList<>();
        RbacPolicy rbac = null;
        for (var l : listeners) {
            ListenerAndRbac lr = listener(l);
            ls.add(lr.listener());
            if (lr.rbac() != null) {
                if (rbac != null && !rbac.equals(lr.rbac())) {
                    throw new XdsRejectedException(
                            "listener "
                                    + l.getName()
                                    + ": its RBAC filters differ from another "
                                    + "listener's; this proxy has one authorization policy for all its listeners");
                }
                rbac = lr.rbac();
            }
        }
        Map<String, RouteConfiguration> rcs = new TreeMap<>();
        for (var rc : routes) {
            rcs.put(rc.getName(), routeConfiguration(rc));
        }
        Map<String, Cluster> cs = new TreeMap<>();
        for (var c : clusters) {
            cs.put(c.getName(), cluster(c, endpoints.get(c.getName())));
        }
        return new ProxyConfig(
                node, ls, rcs, cs, rbac == null ? RbacPolicy.ALLOW_ALL : rbac, List.of());
    }

    /** The route configuration names the listeners' connection managers take over RDS. */
    public static List<String> routeNames(
            Collection<io.envoyproxy.envoy.config.listener.v3.Listener> listeners) {
        List<String> names = new ArrayList<>();
        for (var l : listeners) {
            for (var c : l.getFilterChainsList()) {
                for (var f : c.getFiltersList()) {
                    if (f.hasTypedConfig() && f.getTypedConfig().is(HttpConnectionManager.class)) {
                        HttpConnectionManager hcm =
                                unpack(
                                        f.getTypedConfig(),
                                        HttpConnectionManager.class,
                                        "listener " + l.getName());
                        if (hcm.hasRds() && !names.contains(hcm.getRds().getRouteConfigName())) {
                            names.add(hcm.getRds().getRouteConfigName());
                        }
                    }
                }
            }
        }
        return names;
    }

    /** The clusters whose endpoints come over EDS. */
    public static List<String> edsClusterNames(
            Collection<io.envoyproxy.envoy.config.cluster.v3.Cluster> clusters) {
        return clusters.stream()
                .filter(
                        c ->
                                c.getType()
                                        == io.envoyproxy.envoy.config.cluster.v3.Cluster
                                                .DiscoveryType.EDS)
                .map(
                        c ->
                                c.getEdsClusterConfig().getServiceName().isEmpty()
                                        ? c.getName()
                                        : c.getEdsClusterConfig().getServiceName())
                .toList();
    }

    // ---- listeners

    private record ListenerAndRbac(Listener listener, RbacPolicy rbac) {}

    private static ListenerAndRbac listener(io.envoyproxy.envoy.config.listener.v3.Listener l) {
        String where = "listener " + l.getName();
        if (!l.getAddress().hasSocketAddress()) {
            throw new XdsRejectedException(where + ": only socket addresses are supported");
        }
        Listener.Direction direction =
                switch (l.getTrafficDirection()) {
                    case INBOUND -> Listener.Direction.INBOUND;
                    case OUTBOUND -> Listener.Direction.OUTBOUND;
                    default -> Listener.Direction.GATEWAY;
                };
        List<FilterChain> chains = new ArrayList<>();
        RbacPolicy rbac = null;
        for (var c : l.getFilterChainsList()) {
            String cw = where + " filter chain " + c.getName();
            DownstreamTls tls = null;
            if (c.hasTransportSocket()) {
                tls =
                        downstreamTls(
                                unpack(
                                        transportSocket(c.getTransportSocket(), cw),
                                        DownstreamTlsContext.class,
                                        cw),
                                cw);
            }
            if (c.getFiltersCount() != 1 || !c.getFilters(0).getName().equals(HCM)) {
                throw new XdsRejectedException(
                        cw + ": exactly one filter, " + HCM + ", is supported");
            }
            HttpConnectionManager hcm =
                    unpack(c.getFilters(0).getTypedConfig(), HttpConnectionManager.class, cw);
            boolean redirect = false;
            String routeName;
            if (hcm.hasRds()) {
                routeName = hcm.getRds().getRouteConfigName();
            } else if (hcm.hasRouteConfig() && isHttpsRedirect(hcm.getRouteConfig())) {
                redirect = true;
                routeName = c.getName();
            } else {
                throw new XdsRejectedException(
                        cw + ": routes must come over RDS (or be the https redirect)");
            }
            List<RbacPolicy> filters = new ArrayList<>();
            for (HttpFilter f : hcm.getHttpFiltersList()) {
                switch (f.getName()) {
                    case "envoy.filters.http.rbac" ->
                            filters.add(
                                    RbacInverse.policy(
                                            unpack(f.getTypedConfig(), RBAC.class, cw).getRules(),
                                            cw));
                    case "envoy.filters.http.router" -> {}
                    default ->
                            throw new XdsRejectedException(
                                    cw + ": HTTP filter " + f.getName() + " is not supported");
                }
            }
            if (!filters.isEmpty()) {
                RbacPolicy merged = RbacInverse.merge(filters);
                if (rbac != null && !rbac.equals(merged)) {
                    throw new XdsRejectedException(
                            cw + ": its RBAC filters differ from another chain's");
                }
                rbac = merged;
            }
            List<String> serverNames =
                    c.hasFilterChainMatch()
                            ? c.getFilterChainMatch().getServerNamesList()
                            : List.of();
            chains.add(
                    new FilterChain(
                            c.getName(),
                            serverNames,
                            tls,
                            routeName,
                            redirect,
                            direction == Listener.Direction.INBOUND));
        }
        var sa = l.getAddress().getSocketAddress();
        return new ListenerAndRbac(
                new Listener(l.getName(), sa.getAddress(), sa.getPortValue(), direction, chains),
                rbac);
    }

    private static boolean isHttpsRedirect(
            io.envoyproxy.envoy.config.route.v3.RouteConfiguration rc) {
        return rc.getVirtualHostsCount() == 1
                && rc.getVirtualHosts(0).getRoutesCount() == 1
                && rc.getVirtualHosts(0).getRoutes(0).getRedirect().getHttpsRedirect();
    }

    private static Any transportSocket(TransportSocket ts, String where) {
        if (!ts.getName().equals("envoy.transport_sockets.tls")
                && !ts.getTypedConfig().getTypeUrl().endsWith("TlsContext")) {
            throw new XdsRejectedException(
                    where + ": transport socket " + ts.getName() + " is not supported");
        }
        return ts.getTypedConfig();
    }

    private static DownstreamTls downstreamTls(DownstreamTlsContext ctx, String where) {
        CommonTlsContext common = ctx.getCommonTlsContext();
        TlsParameters p = common.getTlsParams();
        String min = protocol(p.getTlsMinimumProtocolVersion());
        String max = protocol(p.getTlsMaximumProtocolVersion());
        boolean require = ctx.getRequireClientCertificate().getValue();
        if (usesSvid(common, where)) {
            if (!require) {
                throw new XdsRejectedException(
                        where
                                + ": the SVID (SDS "
                                + SDS_CERTIFICATE
                                + ") is served with client "
                                + "certificates required only (ISTIO_MUTUAL)");
            }
            CertificateValidationContext v =
                    common.getCombinedValidationContext().getDefaultValidationContext();
            return new DownstreamTls(
                    DownstreamTls.Mode.ISTIO_MUTUAL,
                    sans(
                            v.toBuilder()
                                    .clearMatchTypedSubjectAltNames()
                                    .addAllMatchTypedSubjectAltNames(
                                            v.getMatchTypedSubjectAltNamesList().stream()
                                                    .filter(
                                                            m ->
                                                                    m.getMatcher()
                                                                                    .getMatchPatternCase()
                                                                            != StringMatcher
                                                                                    .MatchPatternCase
                                                                                    .PREFIX)
                                                    .toList())
                                    .build()),
                    trustDomainPrefixes(v, where),
                    null,
                    null,
                    null,
                    common.getAlpnProtocolsList(),
                    min,
                    max);
        }
        Files f = files(common, where);
        if (f.cert() == null) {
            throw new XdsRejectedException(where + ": a server certificate is required");
        }
        DownstreamTls.Mode mode =
                require
                        ? DownstreamTls.Mode.MUTUAL
                        : f.ca() != null
                                ? DownstreamTls.Mode.OPTIONAL_MUTUAL
                                : DownstreamTls.Mode.SIMPLE;
        return new DownstreamTls(
                mode, f.sans(), f.cert(), f.key(), f.ca(), common.getAlpnProtocolsList(), min, max);
    }

    private static String protocol(TlsParameters.TlsProtocol p) {
        return switch (p) {
            case TLSv1_0 -> "TLSV1_0";
            case TLSv1_1 -> "TLSV1_1";
            case TLSv1_2 -> "TLSV1_2";
            case TLSv1_3 -> "TLSV1_3";
            default -> null;
        };
    }

    /**
     * Whether the context is the SVID from SDS ({@value #SDS_CERTIFICATE} with the {@value
     * #SDS_ROOT_CA} validation context); other SDS secrets and inline keys are refused.
     */
    private static boolean usesSvid(CommonTlsContext common, String where) {
        for (SdsSecretConfig s : common.getTlsCertificateSdsSecretConfigsList()) {
            if (!s.getName().equals(SDS_CERTIFICATE)) {
                throw new XdsRejectedException(
                        where
                                + ": SDS secret \""
                                + s.getName()
                                + "\" is not served here (only "
                                + SDS_CERTIFICATE
                                + " and "
                                + SDS_ROOT_CA
                                + ", the proxy's SVID and bundles)");
            }
        }
        if (common.getTlsCertificateSdsSecretConfigsCount() == 0) {
            return false;
        }
        if (!common.hasCombinedValidationContext()
                || !common.getCombinedValidationContext()
                        .getValidationContextSdsSecretConfig()
                        .getName()
                        .equals(SDS_ROOT_CA)) {
            throw new XdsRejectedException(
                    where + ": the SVID must be validated with the SDS secret " + SDS_ROOT_CA);
        }
        return true;
    }

    private record Files(String cert, String key, String ca, List<String> sans) {}

    private static Files files(CommonTlsContext common, String where) {
        String cert = null;
        String key = null;
        if (common.getTlsCertificatesCount() > 1) {
            throw new XdsRejectedException(where + ": one certificate only");
        }
        if (common.getTlsCertificatesCount() == 1) {
            TlsCertificate c = common.getTlsCertificates(0);
            cert = filename(c.getCertificateChain(), where);
            key = filename(c.getPrivateKey(), where);
        }
        if (common.hasCombinedValidationContext() || common.hasValidationContextSdsSecretConfig()) {
            throw new XdsRejectedException(
                    where + ": a validation context from SDS needs the SVID too (ISTIO_MUTUAL)");
        }
        CertificateValidationContext v = common.getValidationContext();
        String ca = v.hasTrustedCa() ? filename(v.getTrustedCa(), where) : null;
        return new Files(cert, key, ca, sans(v));
    }

    private static String filename(io.envoyproxy.envoy.config.core.v3.DataSource d, String where) {
        if (d.getSpecifierCase()
                != io.envoyproxy.envoy.config.core.v3.DataSource.SpecifierCase.FILENAME) {
            throw new XdsRejectedException(
                    where
                            + ": certificates and keys are read from files or SDS, never inline ("
                            + d.getSpecifierCase()
                            + ")");
        }
        return d.getFilename();
    }

    /**
     * Istio's trust domain validation on an SVID context: URI prefix matchers that are exactly
     * {@code spiffe://<trust domain>/}, read back as trust domains. Any other prefix (a partial
     * trust domain name such as {@code spiffe://example} would also match {@code example.org.evil})
     * is refused.
     */
    private static List<String> trustDomainPrefixes(CertificateValidationContext v, String where) {
        List<String> out = new ArrayList<>();
        for (SubjectAltNameMatcher m : v.getMatchTypedSubjectAltNamesList()) {
            if (m.getMatcher().getMatchPatternCase() != StringMatcher.MatchPatternCase.PREFIX) {
                continue;
            }
            String p = m.getMatcher().getPrefix();
            String td =
                    p.startsWith("spiffe://") && p.endsWith("/")
                            ? p.substring(9, p.length() - 1)
                            : "";
            if (m.getSanType() != SubjectAltNameMatcher.SanType.URI || !isTrustDomain(td)) {
                throw new XdsRejectedException(
                        where
                                + ": subject alt name prefix \""
                                + p
                                + "\": only a trust domain's"
                                + " URI prefix spiffe://<trust domain>/ is accepted");
            }
            out.add(td);
        }
        return out;
    }

    private static boolean isTrustDomain(String name) {
        try {
            return io.mithril.spiffe.id.TrustDomain.parse(name).name().equals(name);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static List<String> sans(CertificateValidationContext v) {
        List<String> out = new ArrayList<>();
        for (SubjectAltNameMatcher m : v.getMatchTypedSubjectAltNamesList()) {
            if (m.getMatcher().getMatchPatternCase() != StringMatcher.MatchPatternCase.EXACT) {
                throw new XdsRejectedException(
                        "subject alt name matcher " + m.getMatcher() + ": exact names only");
            }
            out.add(m.getMatcher().getExact());
        }
        return out;
    }

    // ---- routes

    private static RouteConfiguration routeConfiguration(
            io.envoyproxy.envoy.config.route.v3.RouteConfiguration rc) {
        List<VirtualHost> vhs = new ArrayList<>();
        for (var vh : rc.getVirtualHostsList()) {
            List<Route> rs = new ArrayList<>();
            for (var r : vh.getRoutesList()) {
                rs.add(
                        route(
                                r,
                                "route configuration "
                                        + rc.getName()
                                        + " virtual host "
                                        + vh.getName()
                                        + " route "
                                        + r.getName()));
            }
            vhs.add(new VirtualHost(vh.getName(), vh.getDomainsList(), rs));
        }
        return new RouteConfiguration(rc.getName(), vhs);
    }

    private static Route route(io.envoyproxy.envoy.config.route.v3.Route r, String where) {
        var m = r.getMatch();
        StringMatch path =
                switch (m.getPathSpecifierCase()) {
                    case PREFIX ->
                            m.getPrefix().equals("/")
                                    ? null
                                    : new StringMatch.Prefix(m.getPrefix());
                    case PATH -> new StringMatch.Exact(m.getPath());
                    case SAFE_REGEX -> regex(m.getSafeRegex().getRegex(), where);
                    default ->
                            throw new XdsRejectedException(
                                    where
                                            + ": path match "
                                            + m.getPathSpecifierCase()
                                            + " is not supported");
                };
        boolean ignoreCase = m.hasCaseSensitive() && !m.getCaseSensitive().getValue();
        StringMatch method = null;
        StringMatch authority = null;
        StringMatch scheme = null;
        Map<String, StringMatch> headers = new LinkedHashMap<>();
        Map<String, StringMatch> without = new LinkedHashMap<>();
        for (HeaderMatcher h : m.getHeadersList()) {
            if (!h.hasStringMatch()) {
                throw new XdsRejectedException(
                        where + ": header " + h.getName() + ": only string_match is supported");
            }
            StringMatch sm = stringMatch(h.getStringMatch(), where);
            if (h.getInvertMatch()) {
                without.put(h.getName(), sm);
                continue;
            }
            switch (h.getName()) {
                case ":method" -> method = sm;
                case ":authority" -> authority = sm;
                case ":scheme" -> scheme = sm;
                default -> headers.put(h.getName(), sm);
            }
        }
        Map<String, StringMatch> query = new LinkedHashMap<>();
        for (QueryParameterMatcher q : m.getQueryParametersList()) {
            query.put(q.getName(), stringMatch(q.getStringMatch(), where));
        }
        RouteMatch match =
                new RouteMatch(
                        path, ignoreCase, method, authority, scheme, headers, without, query, null);
        Route.Action action;
        Duration timeout = null;
        Route.RetryPolicy retries = null;
        Route.Mirror mirror = null;
        switch (r.getActionCase()) {
            case ROUTE -> {
                RouteAction a = r.getRoute();
                action =
                        forward(
                                a,
                                m.getPathSpecifierCase()
                                                == io.envoyproxy.envoy.config.route.v3.RouteMatch
                                                        .PathSpecifierCase.PREFIX
                                        ? m.getPrefix()
                                        : null,
                                where);
                timeout = a.hasTimeout() ? duration(a.getTimeout()) : null;
                if (a.hasRetryPolicy()) {
                    var p = a.getRetryPolicy();
                    retries =
                            new Route.RetryPolicy(
                                    p.hasNumRetries() ? p.getNumRetries().getValue() : 1,
                                    p.hasPerTryTimeout() ? duration(p.getPerTryTimeout()) : null,
                                    p.getRetryOn().isEmpty()
                                            ? List.of()
                                            : List.of(p.getRetryOn().split(",")));
                } else {
                    retries = new Route.RetryPolicy(0, null, List.of());
                }
                if (a.getRequestMirrorPoliciesCount() > 1) {
                    throw new XdsRejectedException(where + ": one request mirror policy only");
                }
                if (a.getRequestMirrorPoliciesCount() == 1) {
                    var mp = a.getRequestMirrorPolicies(0);
                    double percent = 100;
                    if (mp.hasRuntimeFraction()) {
                        var fp = mp.getRuntimeFraction().getDefaultValue();
                        double denominator =
                                switch (fp.getDenominator()) {
                                    case TEN_THOUSAND -> 10_000;
                                    case MILLION -> 1_000_000;
                                    default -> 100;
                                };
                        percent = fp.getNumerator() * 100.0 / denominator;
                    }
                    mirror = new Route.Mirror(mp.getCluster(), percent);
                }
            }
            case REDIRECT -> action = redirect(r.getRedirect());
            case DIRECT_RESPONSE -> {
                var d = r.getDirectResponse();
                if (d.hasBody()
                        && d.getBody().getSpecifierCase()
                                != io.envoyproxy.envoy.config.core.v3.DataSource.SpecifierCase
                                        .INLINE_STRING) {
                    throw new XdsRejectedException(
                            where + ": direct response bodies are inline strings only");
                }
                action =
                        new Route.DirectResponse(
                                d.getStatus(), d.hasBody() ? d.getBody().getInlineString() : null);
            }
            default ->
                    throw new XdsRejectedException(
                            where + ": action " + r.getActionCase() + " is not supported");
        }
        VirtualService.Headers headerOps =
                headers(
                        r.getRequestHeadersToAddList(),
                        r.getRequestHeadersToRemoveList(),
                        r.getResponseHeadersToAddList(),
                        r.getResponseHeadersToRemoveList(),
                        where);
        return new Route(
                r.getName().isEmpty() ? null : r.getName(),
                match,
                action,
                headerOps,
                timeout,
                retries,
                null,
                mirror,
                null);
    }

    private static Route.Forward forward(RouteAction a, String matchedPrefix, String where) {
        List<Route.WeightedCluster> clusters = new ArrayList<>();
        switch (a.getClusterSpecifierCase()) {
            case CLUSTER ->
                    clusters.add(
                            new Route.WeightedCluster(
                                    a.getCluster(), 100, VirtualService.Headers.NONE));
            case WEIGHTED_CLUSTERS -> {
                for (WeightedCluster.ClusterWeight cw : a.getWeightedClusters().getClustersList()) {
                    clusters.add(
                            new Route.WeightedCluster(
                                    cw.getName(),
                                    cw.getWeight().getValue(),
                                    headers(
                                            cw.getRequestHeadersToAddList(),
                                            cw.getRequestHeadersToRemoveList(),
                                            cw.getResponseHeadersToAddList(),
                                            cw.getResponseHeadersToRemoveList(),
                                            where)));
                }
            }
            default ->
                    throw new XdsRejectedException(
                            where
                                    + ": cluster specifier "
                                    + a.getClusterSpecifierCase()
                                    + " is not supported");
        }
        String prefixRewrite = a.getPrefixRewrite().isEmpty() ? null : a.getPrefixRewrite();
        String authority = a.getHostRewriteLiteral().isEmpty() ? null : a.getHostRewriteLiteral();
        return new Route.Forward(clusters, prefixRewrite, matchedPrefix, authority);
    }

    private static Route.Redirect redirect(RedirectAction r) {
        int code =
                switch (r.getResponseCode()) {
                    case FOUND -> 302;
                    case SEE_OTHER -> 303;
                    case TEMPORARY_REDIRECT -> 307;
                    case PERMANENT_REDIRECT -> 308;
                    default -> 301;
                };
        String scheme =
                r.getHttpsRedirect()
                        ? "https"
                        : r.getSchemeRedirect().isEmpty() ? null : r.getSchemeRedirect();
        return new Route.Redirect(
                r.getPathRedirect().isEmpty() ? null : r.getPathRedirect(),
                r.getHostRedirect().isEmpty() ? null : r.getHostRedirect(),
                r.getPortRedirect() == 0 ? null : r.getPortRedirect(),
                scheme,
                code);
    }

    private static VirtualService.Headers headers(
            List<HeaderValueOption> reqAdd,
            List<String> reqRemove,
            List<HeaderValueOption> respAdd,
            List<String> respRemove,
            String where) {
        return new VirtualService.Headers(
                headerOps(reqAdd, reqRemove, where), headerOps(respAdd, respRemove, where));
    }

    private static VirtualService.HeaderOperations headerOps(
            List<HeaderValueOption> add, List<String> remove, String where) {
        if (add.isEmpty() && remove.isEmpty()) {
            return VirtualService.HeaderOperations.NONE;
        }
        Map<String, String> set = new LinkedHashMap<>();
        Map<String, String> append = new LinkedHashMap<>();
        for (HeaderValueOption o : add) {
            boolean appends =
                    o.hasAppend()
                            ? o.getAppend().getValue()
                            : o.getAppendAction()
                                    == HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
            if (!o.hasAppend()
                    && o.getAppendAction()
                            != HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD
                    && o.getAppendAction()
                            != HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD) {
                throw new XdsRejectedException(
                        where
                                + ": header append action "
                                + o.getAppendAction()
                                + " is not supported");
            }
            (appends ? append : set).put(o.getHeader().getKey(), o.getHeader().getValue());
        }
        return new VirtualService.HeaderOperations(set, append, remove);
    }

    /**
     * Envoy's StringMatcher as Istio's StringMatch (suffix, contains and ignore_case as whole-value
     * regexes).
     */
    static StringMatch stringMatch(StringMatcher m, String where) {
        String flags = m.getIgnoreCase() ? "(?i)" : "";
        return switch (m.getMatchPatternCase()) {
            case EXACT ->
                    m.getIgnoreCase()
                            ? regex(flags + Pattern.quote(m.getExact()), where)
                            : new StringMatch.Exact(m.getExact());
            case PREFIX ->
                    m.getIgnoreCase()
                            ? regex(flags + Pattern.quote(m.getPrefix()) + ".*", where)
                            : new StringMatch.Prefix(m.getPrefix());
            case SUFFIX -> regex(flags + ".*" + Pattern.quote(m.getSuffix()), where);
            case CONTAINS -> regex(flags + ".*" + Pattern.quote(m.getContains()) + ".*", where);
            case SAFE_REGEX -> regex(flags + m.getSafeRegex().getRegex(), where);
            default ->
                    throw new XdsRejectedException(
                            where
                                    + ": string matcher "
                                    + m.getMatchPatternCase()
                                    + " is not supported");
        };
    }

    private static StringMatch regex(String re, String where) {
        try {
            return StringMatch.Regex.of(re);
        } catch (java.util.regex.PatternSyntaxException e) {
            throw new XdsRejectedException(where + ": regex " + re + ": " + e.getDescription());
        }
    }

    // ---- clusters

    private static Cluster cluster(
            io.envoyproxy.envoy.config.cluster.v3.Cluster c, ClusterLoadAssignment eds) {
        String where = "cluster " + c.getName();
        Cluster.Type type;
        ClusterLoadAssignment cla;
        switch (c.getType()) {
            case EDS -> {
                if (eds == null) {
                    throw new XdsRejectedException(
                            where + ": no ClusterLoadAssignment received for it");
                }
                type = Cluster.Type.STATIC;
                cla = eds;
            }
            case STATIC -> {
                type = Cluster.Type.STATIC;
                cla = c.getLoadAssignment();
            }
            case STRICT_DNS, LOGICAL_DNS -> {
                type = Cluster.Type.STRICT_DNS;
                cla = c.getLoadAssignment();
            }
            default ->
                    throw new XdsRejectedException(
                            where + ": discovery type " + c.getType() + " is not supported");
        }
        List<Cluster.Endpoint> endpoints = new ArrayList<>();
        for (LocalityLbEndpoints loc : cla.getEndpointsList()) {
            for (LbEndpoint e : loc.getLbEndpointsList()) {
                Address a = e.getEndpoint().getAddress();
                if (!a.hasSocketAddress()) {
                    throw new XdsRejectedException(where + ": endpoints must be socket addresses");
                }
                endpoints.add(
                        new Cluster.Endpoint(
                                a.getSocketAddress().getAddress(),
                                a.getSocketAddress().getPortValue(),
                                e.hasLoadBalancingWeight()
                                        ? e.getLoadBalancingWeight().getValue()
                                        : 1,
                                Map.of(),
                                null));
            }
        }
        DestinationRule.SimpleLb lb =
                switch (c.getLbPolicy()) {
                    case ROUND_ROBIN -> DestinationRule.SimpleLb.ROUND_ROBIN;
                    case LEAST_REQUEST -> DestinationRule.SimpleLb.LEAST_REQUEST;
                    case RANDOM -> DestinationRule.SimpleLb.RANDOM;
                    default ->
                            throw new XdsRejectedException(
                                    where
                                            + ": load balancer "
                                            + c.getLbPolicy()
                                            + " is not supported");
                };
        UpstreamTls tls =
                c.hasTransportSocket()
                        ? upstreamTls(
                                unpack(
                                        transportSocket(c.getTransportSocket(), where),
                                        UpstreamTlsContext.class,
                                        where),
                                where)
                        : null;
        DestinationRule.OutlierDetection od = null;
        if (c.hasOutlierDetection()) {
            var o = c.getOutlierDetection();
            od =
                    new DestinationRule.OutlierDetection(
                            o.hasConsecutive5Xx() ? o.getConsecutive5Xx().getValue() : 5,
                            o.hasInterval() ? duration(o.getInterval()) : null,
                            o.hasBaseEjectionTime() ? duration(o.getBaseEjectionTime()) : null,
                            o.hasMaxEjectionPercent() ? o.getMaxEjectionPercent().getValue() : 10);
        }
        DestinationRule.ConnectionPool pool = null;
        if (c.hasCircuitBreakers()) {
            if (c.getCircuitBreakers().getThresholdsCount() > 1) {
                throw new XdsRejectedException(
                        where + ": one circuit breaker threshold (default priority) only");
            }
            CircuitBreakers.Thresholds t =
                    c.getCircuitBreakers().getThresholdsCount() == 0
                            ? CircuitBreakers.Thresholds.getDefaultInstance()
                            : c.getCircuitBreakers().getThresholds(0);
            pool =
                    new DestinationRule.ConnectionPool(
                            t.hasMaxConnections() ? t.getMaxConnections().getValue() : null,
                            null,
                            t.hasMaxPendingRequests() ? t.getMaxPendingRequests().getValue() : null,
                            t.hasMaxRequests() ? t.getMaxRequests().getValue() : null,
                            null,
                            t.hasMaxRetries() ? t.getMaxRetries().getValue() : null,
                            null);
        }
        // Istio's names: outbound|<port>|<subset>|<host> and inbound|<port>||.
        String[] part = c.getName().split("\\|", -1);
        String host =
                part.length == 4 ? (part[0].equals("inbound") ? "inbound" : part[3]) : c.getName();
        int port =
                part.length == 4
                        ? parsePort(part[1])
                        : endpoints.isEmpty() ? 0 : endpoints.get(0).port();
        String subset = part.length == 4 && !part[2].isEmpty() ? part[2] : null;
        return new Cluster(
                c.getName(),
                host,
                port,
                subset,
                type,
                endpoints,
                lb,
                tls,
                od,
                pool,
                c.hasConnectTimeout() ? duration(c.getConnectTimeout()) : Duration.ofSeconds(5),
                null);
    }

    private static int parsePort(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static UpstreamTls upstreamTls(UpstreamTlsContext ctx, String where) {
        CommonTlsContext common = ctx.getCommonTlsContext();
        String sni = ctx.getSni().isEmpty() ? null : ctx.getSni();
        if (usesSvid(common, where)) {
            return new UpstreamTls(
                    UpstreamTls.Mode.ISTIO_MUTUAL,
                    sans(common.getCombinedValidationContext().getDefaultValidationContext()),
                    sni,
                    null,
                    null,
                    null,
                    false);
        }
        UpstreamTls.Mode mode =
                common.getTlsCertificatesCount() > 0
                        ? UpstreamTls.Mode.MUTUAL
                        : UpstreamTls.Mode.SIMPLE;
        if (common.hasCombinedValidationContext()
                && common.getCombinedValidationContext()
                        .getValidationContextSdsSecretConfig()
                        .getName()
                        .equals(SDS_SYSTEM_ROOTS)) {
            // Istio's TLS origination without caCertificates: the server is verified against the
            // system's trust store (the JDK's), its names against the SAN matchers.
            Files f = files(common.toBuilder().clearCombinedValidationContext().build(), where);
            return new UpstreamTls(
                    mode,
                    sans(common.getCombinedValidationContext().getDefaultValidationContext()),
                    sni,
                    f.cert(),
                    f.key(),
                    null,
                    false);
        }
        Files f = files(common, where);
        if (!common.hasValidationContext()) {
            // Envoy would not verify the server at all. istiod never sends that: it sends a trust
            // source, or an empty validation context for insecureSkipVerify. Fail closed.
            throw new XdsRejectedException(
                    where
                            + ": UpstreamTlsContext without a validation context would not verify the "
                            + "server; give trusted_ca (or the SDS secret "
                            + SDS_SYSTEM_ROOTS
                            + "), or an empty validation_context for "
                            + "a DestinationRule with insecureSkipVerify: true");
        }
        if (common.getValidationContext()
                .equals(CertificateValidationContext.getDefaultInstance())) {
            // istiod's form of insecureSkipVerify: the operator asked not to verify the server.
            return new UpstreamTls(mode, List.of(), sni, f.cert(), f.key(), null, true);
        }
        if (f.ca() == null) {
            // Envoy refuses this too: names checked on a certificate nobody verified prove nothing.
            throw new XdsRejectedException(
                    where
                            + ": a validation context with subject alt names needs trusted_ca "
                            + "(or the SDS secret "
                            + SDS_SYSTEM_ROOTS
                            + ")");
        }
        return new UpstreamTls(mode, f.sans(), sni, f.cert(), f.key(), f.ca(), false);
    }

    // ---- helpers

    static Duration duration(com.google.protobuf.Duration d) {
        return Duration.ofSeconds(d.getSeconds(), d.getNanos());
    }

    static <T extends Message> T unpack(Any any, Class<T> type, String where) {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new XdsRejectedException(
                    where + ": expected " + type.getSimpleName() + ", got " + any.getTypeUrl());
        }
    }
}
