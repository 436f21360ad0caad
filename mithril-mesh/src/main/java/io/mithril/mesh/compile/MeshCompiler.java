package io.mithril.mesh.compile;

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
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.DestinationRule.TrafficPolicy;
import io.mithril.mesh.model.Gateway;
import io.mithril.mesh.model.PeerAuthentication;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.model.ServiceEntry;
import io.mithril.mesh.model.StringMatch;
import io.mithril.mesh.model.VirtualService;
import io.mithril.mesh.model.VirtualService.HttpMatchRequest;
import io.mithril.mesh.model.VirtualService.HttpRoute;
import io.mithril.mesh.model.WorkloadEntry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Compiles a set of validated Istio resources into the configuration of one proxy, as istiod does
 * for Envoy: gateway listeners from the Gateways that select the proxy's labels, sidecar
 * inbound/outbound listeners, route configurations from VirtualServices (one Envoy route per {@code
 * match} block, in order: the first match wins), clusters from ServiceEntry and WorkloadEntry
 * endpoints with the most specific DestinationRule's policy, and the AuthorizationPolicies that
 * apply to the proxy. Pure: no I/O, same input, same output.
 */
public final class MeshCompiler {

    /** Envoy's and Istio's default upstream connect timeout. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final List<String> ALPN = List.of("h2", "http/1.1");

    private final List<Resource> resources;
    private final ProxyNode node;
    private final List<String> warnings = new ArrayList<>();
    private final Map<String, ClusterKey> wantedClusters = new LinkedHashMap<>();

    private record ClusterKey(String host, int port, String subset) {}

    private MeshCompiler(List<Resource> resources, ProxyNode node) {
        this.resources = List.copyOf(resources);
        this.node = node;
    }

    /** Compiles {@code resources} for {@code node}. */
    public static ProxyConfig compile(List<Resource> resources, ProxyNode node) {
        return new MeshCompiler(resources, node).run();
    }

    private <T extends Resource> List<T> all(Class<T> type) {
        List<T> out = new ArrayList<>();
        for (Resource r : resources) {
            if (type.isInstance(r)) {
                out.add(type.cast(r));
            }
        }
        return out;
    }

    private ProxyConfig run() {
        List<Listener> listeners = new ArrayList<>();
        Map<String, RouteConfiguration> routes = new TreeMap<>();
        if (node.kind() == ProxyNode.Kind.GATEWAY) {
            gatewayListeners(listeners, routes);
        } else {
            sidecarListeners(listeners, routes);
        }
        Map<String, Cluster> clusters = new TreeMap<>();
        for (Map.Entry<String, ClusterKey> e : wantedClusters.entrySet()) {
            clusters.put(e.getKey(), cluster(e.getKey(), e.getValue()));
        }
        if (node.kind() == ProxyNode.Kind.SIDECAR) {
            for (ProxyNode.InboundPort p : node.inbound()) {
                String name = inboundCluster(p.appPort());
                clusters.put(
                        name,
                        new Cluster(
                                name,
                                "inbound",
                                p.appPort(),
                                null,
                                Cluster.Type.STATIC,
                                List.of(
                                        new Cluster.Endpoint(
                                                p.appAddress(), p.appPort(), 1, Map.of(), null)),
                                DestinationRule.SimpleLb.ROUND_ROBIN,
                                null,
                                null,
                                null,
                                DEFAULT_CONNECT_TIMEOUT,
                                null));
            }
        }
        return new ProxyConfig(node, listeners, routes, clusters, rbac(), warnings);
    }

    // ----- hosts -------------------------------------------------------------------------------

    /**
     * Istio's short names: {@code reviews} in namespace {@code default} is {@code
     * reviews.default.svc.cluster.local}.
     */
    static String fqdn(String host, String namespace) {
        if (host.equals("*") || host.contains(".")) {
            return host.toLowerCase(Locale.ROOT);
        }
        return (host + "." + namespace + ".svc.cluster.local").toLowerCase(Locale.ROOT);
    }

    /** Whether {@code pattern} ({@code *}, {@code *.suffix} or a name) covers {@code host}. */
    static boolean covers(String pattern, String host) {
        pattern = pattern.toLowerCase(Locale.ROOT);
        host = host.toLowerCase(Locale.ROOT);
        if (pattern.equals("*") || pattern.equals(host)) {
            return true;
        }
        if (pattern.startsWith("*.")) {
            String suffix = pattern.substring(1);
            return host.endsWith(suffix) && host.length() > suffix.length();
        }
        return false;
    }

    /** The more specific of two hosts when one covers the other, else null. */
    static String intersect(String a, String b) {
        if (covers(a, b)) {
            return b.toLowerCase(Locale.ROOT);
        }
        if (covers(b, a)) {
            return a.toLowerCase(Locale.ROOT);
        }
        return null;
    }

    // ----- gateways ----------------------------------------------------------------------------

    private void gatewayListeners(
            List<Listener> listeners, Map<String, RouteConfiguration> routes) {
        List<Gateway> gateways =
                all(Gateway.class).stream().filter(g -> node.selectedBy(g.selector())).toList();
        if (gateways.isEmpty()) {
            warnings.add("no Gateway selects this proxy's labels " + node.labels());
        }
        // Servers grouped by port, as Envoy has one listener per port.
        Map<Integer, List<Object[]>> byPort = new TreeMap<>();
        for (Gateway g : gateways) {
            for (int i = 0; i < g.servers().size(); i++) {
                Gateway.Server s = g.servers().get(i);
                byPort.computeIfAbsent(s.port().number(), k -> new ArrayList<>())
                        .add(new Object[] {g, s, i});
            }
        }
        for (Map.Entry<Integer, List<Object[]>> e : byPort.entrySet()) {
            int port = e.getKey();
            List<FilterChain> chains = new ArrayList<>();
            List<Object[]> plain = new ArrayList<>();
            String bind = "0.0.0.0";
            for (Object[] gs : e.getValue()) {
                Gateway g = (Gateway) gs[0];
                Gateway.Server s = (Gateway.Server) gs[1];
                if (s.bind() != null && !s.bind().isEmpty()) {
                    bind = s.bind();
                }
                String protocol = s.port().protocol();
                if (protocol.equals("HTTP")
                        || protocol.equals("HTTP2")
                        || protocol.equals("GRPC")) {
                    plain.add(gs);
                } else if (protocol.equals("HTTPS")) {
                    Gateway.ServerTls t = s.tls();
                    if (t.mode() == Gateway.TlsMode.PASSTHROUGH
                            || t.mode() == Gateway.TlsMode.AUTO_PASSTHROUGH) {
                        warnings.add(
                                g.ref()
                                        + " server "
                                        + gs[2]
                                        + ": tls.mode "
                                        + t.mode()
                                        + " is not supported on HTTPS; server skipped");
                        continue;
                    }
                    String rcName =
                            "https."
                                    + port
                                    + "."
                                    + (s.port().name() == null ? gs[2] : s.port().name())
                                    + "."
                                    + g.metadata().name()
                                    + "."
                                    + g.metadata().namespace();
                    routes.put(rcName, gatewayRoutes(rcName, port, List.<Object[]>of(gs)));
                    List<String> sni = new ArrayList<>();
                    for (String h : s.hosts()) {
                        String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
                        if (host.equals("*")) {
                            sni.clear();
                            break;
                        }
                        sni.add(host);
                    }
                    DownstreamTls tls =
                            new DownstreamTls(
                                    DownstreamTls.Mode.valueOf(t.mode().name()),
                                    t.subjectAltNames(),
                                    t.serverCertificate(),
                                    t.privateKey(),
                                    t.caCertificates(),
                                    ALPN,
                                    t.minProtocolVersion(),
                                    t.maxProtocolVersion());
                    if (t.credentialName() != null) {
                        warnings.add(
                                g.ref()
                                        + ": credentialName \""
                                        + t.credentialName()
                                        + "\" names a Kubernetes secret; on plain machines use serverCertificate/privateKey files");
                    }
                    chains.add(new FilterChain(rcName, sni, tls, rcName, false, false));
                } else {
                    warnings.add(
                            g.ref()
                                    + " server "
                                    + gs[2]
                                    + ": protocol "
                                    + protocol
                                    + " is not supported (HTTP and HTTPS are); server skipped");
                }
            }
            if (!plain.isEmpty()) {
                String rcName = "http." + port;
                boolean redirect =
                        plain.stream()
                                .allMatch(
                                        gs -> {
                                            Gateway.Server s = (Gateway.Server) gs[1];
                                            return s.tls() != null && s.tls().httpsRedirect();
                                        });
                routes.put(rcName, gatewayRoutes(rcName, port, plain));
                chains.add(new FilterChain(rcName, List.of(), null, rcName, redirect, false));
            }
            if (!chains.isEmpty()) {
                listeners.add(
                        new Listener(
                                bind + "_" + port, bind, port, Listener.Direction.GATEWAY, chains));
            }
        }
    }

    private static String gatewayRef(Gateway g) {
        return g.metadata().namespace() + "/" + g.metadata().name();
    }

    /** Whether a VirtualService's {@code gateways} names {@code ref} ({@code ns/name}). */
    private static boolean boundTo(List<String> gateways, String vsNamespace, String ref) {
        for (String gw : gateways) {
            String full = gw.contains("/") ? gw : vsNamespace + "/" + gw;
            if (full.equals(ref)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Route configuration for gateway servers: virtual hosts from the VirtualServices bound to
     * them.
     */
    private RouteConfiguration gatewayRoutes(String name, int port, List<Object[]> servers) {
        Map<String, List<Route>> byDomain = new LinkedHashMap<>();
        for (VirtualService vs : all(VirtualService.class)) {
            for (Object[] gs : servers) {
                Gateway g = (Gateway) gs[0];
                Gateway.Server s = (Gateway.Server) gs[1];
                String ref = gatewayRef(g);
                if (!boundTo(vs.gateways(), vs.metadata().namespace(), ref)) {
                    continue;
                }
                Set<String> domains = new LinkedHashSet<>();
                for (String vsHost : vs.hosts()) {
                    String h = fqdn(vsHost, vs.metadata().namespace());
                    for (String serverHost : s.hosts()) {
                        String host = serverHost;
                        if (serverHost.contains("/")) {
                            String ns = serverHost.substring(0, serverHost.indexOf('/'));
                            host = serverHost.substring(serverHost.indexOf('/') + 1);
                            if (!(ns.equals("*")
                                    || ns.equals(".")
                                            && vs.metadata()
                                                    .namespace()
                                                    .equals(g.metadata().namespace())
                                    || ns.equals(vs.metadata().namespace()))) {
                                continue;
                            }
                        }
                        String d = intersect(host, h);
                        if (d != null) {
                            domains.add(d);
                        }
                    }
                }
                for (String d : domains) {
                    List<Route> list = byDomain.computeIfAbsent(d, k -> new ArrayList<>());
                    for (int i = 0; i < vs.http().size(); i++) {
                        list.addAll(routes(vs, i, ref, port));
                    }
                }
            }
        }
        List<VirtualHost> vhosts = new ArrayList<>();
        byDomain.forEach(
                (domain, list) -> {
                    List<String> domains =
                            domain.equals("*")
                                    ? List.of("*")
                                    : List.of(domain, domain + ":" + port);
                    vhosts.add(new VirtualHost(domain + ":" + port, domains, list));
                });
        return new RouteConfiguration(name, vhosts);
    }

    // ----- routes ------------------------------------------------------------------------------

    /**
     * The Envoy routes for {@code vs.http[index]} as seen from {@code context} (a gateway {@code
     * ns/name}, or {@code mesh}): one per match block that applies there.
     *
     * @param servicePort the gateway server's port, or for sidecar outbound the port of the virtual
     *     host; match blocks with another {@code port} are dropped and destinations default to it
     */
    private List<Route> routes(VirtualService vs, int index, String context, int servicePort) {
        HttpRoute rule = vs.http().get(index);
        String ns = vs.metadata().namespace();
        String where =
                vs.ref()
                        + " http["
                        + index
                        + "]"
                        + (rule.name() == null ? "" : " (" + rule.name() + ")");
        List<Route> out = new ArrayList<>();
        List<HttpMatchRequest> blocks =
                rule.match().isEmpty() ? java.util.Collections.singletonList(null) : rule.match();
        for (int j = 0; j < blocks.size(); j++) {
            HttpMatchRequest m = blocks.get(j);
            RouteMatch match = RouteMatch.ANY;
            String prefix = null;
            if (m != null) {
                if (!m.gateways().isEmpty()
                        && !boundTo(m.gateways(), ns, context)
                        && !m.gateways().contains(context)) {
                    continue;
                }
                Integer port = m.port();
                if (port != null) {
                    // As istiod's translateRoute: a block for another port than the listener's
                    // (a gateway server's port, or the sidecar's service port) is dropped, so the
                    // routes need no port match (which xDS routes cannot express).
                    if (port != servicePort) {
                        continue;
                    }
                    port = null;
                }
                match =
                        new RouteMatch(
                                m.uri(),
                                m.ignoreUriCase(),
                                m.method(),
                                m.authority(),
                                m.scheme(),
                                m.headers(),
                                m.withoutHeaders(),
                                m.queryParams(),
                                port);
                if (m.uri() instanceof StringMatch.Prefix p) {
                    prefix = p.value();
                }
            }
            out.add(
                    new Route(
                            where + (m == null ? "" : " match[" + j + "]"),
                            match,
                            action(vs, rule, prefix, servicePort),
                            rule.headers(),
                            rule.timeout(),
                            retries(rule),
                            fault(rule),
                            mirror(vs, rule, servicePort),
                            rule.corsPolicy()));
        }
        return out;
    }

    private Route.Action action(
            VirtualService vs, HttpRoute rule, String matchedPrefix, int defaultPort) {
        if (rule.redirect() != null) {
            var r = rule.redirect();
            return new Route.Redirect(
                    r.uri(), r.authority(), r.port(), r.scheme(), r.redirectCode());
        }
        if (rule.directResponse() != null) {
            return new Route.DirectResponse(
                    rule.directResponse().status(), rule.directResponse().body());
        }
        List<Route.WeightedCluster> clusters = new ArrayList<>();
        for (VirtualService.HttpRouteDestination d : rule.route()) {
            String cluster = clusterFor(vs, d.destination(), defaultPort);
            int weight = rule.route().size() == 1 && d.weight() == 0 ? 100 : d.weight();
            if (weight > 0) {
                clusters.add(new Route.WeightedCluster(cluster, weight, d.headers()));
            }
        }
        String prefixRewrite = rule.rewrite() == null ? null : rule.rewrite().uri();
        String authority = rule.rewrite() == null ? null : rule.rewrite().authority();
        return new Route.Forward(clusters, prefixRewrite, matchedPrefix, authority);
    }

    private String clusterFor(VirtualService vs, VirtualService.Destination d, int defaultPort) {
        String host = fqdn(d.host(), vs.metadata().namespace());
        int port;
        if (d.port() != null) {
            port = d.port();
        } else {
            ServiceEntry se = serviceEntry(host);
            if (se != null && se.ports().size() == 1) {
                port = se.ports().get(0).number();
            } else if (se != null
                    && defaultPort > 0
                    && se.ports().stream().anyMatch(p -> p.number() == defaultPort)) {
                port = defaultPort;
            } else if (se != null) {
                port = se.ports().get(0).number();
                warnings.add(
                        vs.ref()
                                + ": destination "
                                + host
                                + " has several ports and none is given; using "
                                + port);
            } else {
                port = defaultPort > 0 ? defaultPort : 80;
            }
        }
        String name = Cluster.outboundName(port, d.subset(), host);
        wantedClusters.putIfAbsent(name, new ClusterKey(host, port, d.subset()));
        return name;
    }

    private static Route.RetryPolicy retries(HttpRoute rule) {
        if (rule.retries() == null) {
            return Route.RetryPolicy.ISTIO_DEFAULT;
        }
        var r = rule.retries();
        return new Route.RetryPolicy(
                r.attempts(),
                r.perTryTimeout(),
                r.retryOn().isEmpty() ? Route.RetryPolicy.ISTIO_DEFAULT.retryOn() : r.retryOn());
    }

    private static Route.Fault fault(HttpRoute rule) {
        if (rule.fault() == null) {
            return null;
        }
        var f = rule.fault();
        return new Route.Fault(
                f.delay() == null ? null : f.delay().fixedDelay(),
                f.delay() == null ? 0 : f.delay().percentage(),
                f.abort() == null ? null : f.abort().httpStatus(),
                f.abort() == null ? 0 : f.abort().percentage());
    }

    private Route.Mirror mirror(VirtualService vs, HttpRoute rule, int defaultPort) {
        if (rule.mirror() == null) {
            return null;
        }
        return new Route.Mirror(
                clusterFor(vs, rule.mirror(), defaultPort),
                rule.mirrorPercentage() == null ? 100.0 : rule.mirrorPercentage());
    }

    // ----- sidecar -----------------------------------------------------------------------------

    static String inboundCluster(int appPort) {
        return "inbound|" + appPort + "||";
    }

    private void sidecarListeners(
            List<Listener> listeners, Map<String, RouteConfiguration> routes) {
        for (ProxyNode.InboundPort p : node.inbound()) {
            PeerAuthentication.Mode mode = peerAuthenticationMode(p.appPort());
            String rcName = "inbound|" + p.appPort();
            Route forward =
                    new Route(
                            "inbound " + p.appPort(),
                            RouteMatch.ANY,
                            new Route.Forward(
                                    List.of(
                                            new Route.WeightedCluster(
                                                    inboundCluster(p.appPort()),
                                                    100,
                                                    VirtualService.Headers.NONE)),
                                    null,
                                    null,
                                    null),
                            VirtualService.Headers.NONE,
                            null,
                            new Route.RetryPolicy(0, null, List.of()),
                            null,
                            null,
                            null);
            routes.put(
                    rcName,
                    new RouteConfiguration(
                            rcName,
                            List.of(
                                    new VirtualHost(
                                            "inbound|http|" + p.appPort(),
                                            List.of("*"),
                                            List.of(forward)))));
            List<FilterChain> chains = new ArrayList<>();
            // Istio's trust domain validation: peers of the own trust domain and its aliases only.
            DownstreamTls mtls =
                    new DownstreamTls(
                            DownstreamTls.Mode.ISTIO_MUTUAL,
                            List.of(),
                            node.trustDomainsForValidation(),
                            null,
                            null,
                            null,
                            ALPN,
                            null,
                            null);
            if (mode != PeerAuthentication.Mode.DISABLE) {
                chains.add(new FilterChain(rcName + " mtls", List.of(), mtls, rcName, false, true));
            }
            if (mode != PeerAuthentication.Mode.STRICT) {
                chains.add(
                        new FilterChain(
                                rcName + " plaintext", List.of(), null, rcName, false, true));
            }
            listeners.add(
                    new Listener(
                            "virtualInbound_" + p.port() + " (" + mode + ")",
                            p.address(),
                            p.port(),
                            Listener.Direction.INBOUND,
                            chains));
        }
        if (node.outboundPort() > 0) {
            String rcName = "outbound";
            routes.put(rcName, outboundRoutes(rcName));
            listeners.add(
                    new Listener(
                            node.outboundAddress() + "_" + node.outboundPort(),
                            node.outboundAddress(),
                            node.outboundPort(),
                            Listener.Direction.OUTBOUND,
                            List.of(
                                    new FilterChain(
                                            rcName, List.of(), null, rcName, false, false))));
        }
    }

    /**
     * PeerAuthentication for this workload and port: a workload-selector policy in its namespace,
     * then its namespace's policy, then the mesh policy in the root namespace, then PERMISSIVE.
     * UNSET inherits from the next scope.
     */
    PeerAuthentication.Mode peerAuthenticationMode(int appPort) {
        List<PeerAuthentication> pas = all(PeerAuthentication.class);
        List<PeerAuthentication> scopes = new ArrayList<>();
        pas.stream()
                .filter(
                        pa ->
                                pa.metadata().namespace().equals(node.namespace())
                                        && pa.selector() != null
                                        && !pa.selector().isEmpty()
                                        && node.selectedBy(pa.selector()))
                .findFirst()
                .ifPresent(scopes::add);
        pas.stream()
                .filter(
                        pa ->
                                pa.metadata().namespace().equals(node.namespace())
                                        && (pa.selector() == null || pa.selector().isEmpty()))
                .findFirst()
                .ifPresent(scopes::add);
        pas.stream()
                .filter(
                        pa ->
                                pa.metadata().namespace().equals(ProxyNode.ROOT_NAMESPACE)
                                        && (pa.selector() == null || pa.selector().isEmpty()))
                .findFirst()
                .ifPresent(scopes::add);
        for (PeerAuthentication pa : scopes) {
            PeerAuthentication.Mode m = pa.portLevelMtls().get(appPort);
            if (m != null && m != PeerAuthentication.Mode.UNSET) {
                return m;
            }
            if (pa.mode() != PeerAuthentication.Mode.UNSET) {
                return pa.mode();
            }
        }
        return PeerAuthentication.Mode.PERMISSIVE;
    }

    /**
     * The outbound HTTP proxy's routes: one virtual host per service host and port (from
     * ServiceEntries and mesh-bound VirtualServices); a VirtualService's rules replace the default
     * route to the service when it covers the host.
     */
    private RouteConfiguration outboundRoutes(String name) {
        Map<String, Set<Integer>> services = new LinkedHashMap<>();
        for (ServiceEntry se : all(ServiceEntry.class)) {
            for (String h : se.hosts()) {
                if (!h.startsWith("*")) {
                    Set<Integer> ports =
                            services.computeIfAbsent(
                                    fqdn(h, se.metadata().namespace()), k -> new LinkedHashSet<>());
                    se.ports().forEach(p -> ports.add(p.number()));
                }
            }
        }
        List<VirtualService> meshVs =
                all(VirtualService.class).stream()
                        .filter(vs -> vs.gateways().isEmpty() || vs.gateways().contains("mesh"))
                        .toList();
        for (VirtualService vs : meshVs) {
            for (String h : vs.hosts()) {
                String host = fqdn(h, vs.metadata().namespace());
                if (!host.startsWith("*")) {
                    Set<Integer> ports = services.computeIfAbsent(host, k -> new LinkedHashSet<>());
                    if (ports.isEmpty()) {
                        ports.add(80);
                    }
                }
            }
        }
        List<VirtualHost> vhosts = new ArrayList<>();
        for (Map.Entry<String, Set<Integer>> e : services.entrySet()) {
            String host = e.getKey();
            for (int port : e.getValue()) {
                List<Route> list = new ArrayList<>();
                boolean covered = false;
                for (VirtualService vs : meshVs) {
                    if (vs.hosts().stream()
                            .anyMatch(h -> covers(fqdn(h, vs.metadata().namespace()), host))) {
                        covered = true;
                        for (int i = 0; i < vs.http().size(); i++) {
                            list.addAll(routes(vs, i, "mesh", port));
                        }
                    }
                }
                if (!covered) {
                    String cluster = Cluster.outboundName(port, null, host);
                    wantedClusters.putIfAbsent(cluster, new ClusterKey(host, port, null));
                    list.add(
                            new Route(
                                    "default route to " + host + ":" + port,
                                    RouteMatch.ANY,
                                    new Route.Forward(
                                            List.of(
                                                    new Route.WeightedCluster(
                                                            cluster,
                                                            100,
                                                            VirtualService.Headers.NONE)),
                                            null,
                                            null,
                                            null),
                                    VirtualService.Headers.NONE,
                                    null,
                                    Route.RetryPolicy.ISTIO_DEFAULT,
                                    null,
                                    null,
                                    null));
                }
                List<String> domains = new ArrayList<>();
                boolean bare = port == 80 || e.getValue().size() == 1;
                for (String alias : hostAliases(host)) {
                    domains.add(alias + ":" + port);
                    if (bare) {
                        domains.add(alias);
                    }
                }
                vhosts.add(new VirtualHost(host + ":" + port, domains, list));
            }
        }
        return new RouteConfiguration(name, vhosts);
    }

    /**
     * The names an application may use for a service host, as Istio's outbound virtual hosts list
     * them: the FQDN, {@code name.ns.svc} and {@code name.ns} (what Kubernetes DNS search paths
     * resolve), and the bare {@code name} for services in the proxy's own namespace.
     */
    private List<String> hostAliases(String host) {
        List<String> aliases = new ArrayList<>(List.of(host));
        String suffix = ".svc.cluster.local";
        if (host.endsWith(suffix)) {
            String nameNs = host.substring(0, host.length() - suffix.length());
            int dot = nameNs.indexOf('.');
            if (dot > 0 && dot == nameNs.lastIndexOf('.')) {
                aliases.add(nameNs + ".svc");
                aliases.add(nameNs);
                if (nameNs.substring(dot + 1).equals(node.namespace())) {
                    aliases.add(nameNs.substring(0, dot));
                }
            }
        }
        return aliases;
    }

    // ----- clusters ----------------------------------------------------------------------------

    private ServiceEntry serviceEntry(String host) {
        ServiceEntry wildcard = null;
        for (ServiceEntry se : all(ServiceEntry.class)) {
            for (String h : se.hosts()) {
                String f = fqdn(h, se.metadata().namespace());
                if (f.equals(host)) {
                    return se;
                }
                if (wildcard == null && covers(f, host)) {
                    wildcard = se;
                }
            }
        }
        return wildcard;
    }

    /**
     * The namespace a service lives in: its ServiceEntry's, or the one in {@code name.ns.svc...}.
     */
    private static String serviceNamespace(String host, ServiceEntry se) {
        if (se != null) {
            return se.metadata().namespace();
        }
        String[] parts = host.split("\\.");
        if (parts.length >= 3 && parts[2].equals("svc")) {
            return parts[1];
        }
        return null;
    }

    /**
     * The DestinationRule for a service host, as Istio looks it up: in the proxy's namespace, then
     * the service's, then the root namespace, then any other; within one namespace the most
     * specific host wins (exact, then the longest wildcard suffix).
     */
    DestinationRule destinationRule(String host, String serviceNamespace) {
        List<DestinationRule> drs = all(DestinationRule.class);
        List<String> order = new ArrayList<>();
        order.add(node.namespace());
        if (serviceNamespace != null) {
            order.add(serviceNamespace);
        }
        order.add(ProxyNode.ROOT_NAMESPACE);
        for (String ns : order) {
            DestinationRule best =
                    mostSpecific(
                            drs.stream().filter(d -> d.metadata().namespace().equals(ns)).toList(),
                            host);
            if (best != null) {
                return best;
            }
        }
        return mostSpecific(drs.stream().filter(d -> !d.exportTo().contains(".")).toList(), host);
    }

    private static DestinationRule mostSpecific(List<DestinationRule> drs, String host) {
        DestinationRule best = null;
        int bestScore = -1;
        for (DestinationRule d : drs) {
            String h = fqdn(d.host(), d.metadata().namespace());
            if (!covers(h, host)) {
                continue;
            }
            int score = h.startsWith("*") ? h.length() : Integer.MAX_VALUE;
            if (score > bestScore) {
                best = d;
                bestScore = score;
            }
        }
        return best;
    }

    private Cluster cluster(String name, ClusterKey key) {
        ServiceEntry se = serviceEntry(key.host());
        String serviceNs = serviceNamespace(key.host(), se);
        DestinationRule dr = destinationRule(key.host(), serviceNs);
        // As istiod merges them: the rule's policy, replaced by its port-level setting for this
        // port; then the subset's parts, replaced by the subset's port-level setting.
        TrafficPolicy policy =
                (dr == null || dr.trafficPolicy() == null
                                ? TrafficPolicy.EMPTY
                                : dr.trafficPolicy())
                        .atPort(key.port());
        Map<String, String> subsetLabels = null;
        if (key.subset() != null) {
            DestinationRule.Subset subset =
                    dr == null
                            ? null
                            : dr.subsets().stream()
                                    .filter(s -> s.name().equals(key.subset()))
                                    .findFirst()
                                    .orElse(null);
            if (subset == null) {
                warnings.add(
                        "cluster "
                                + name
                                + ": no DestinationRule defines subset \""
                                + key.subset()
                                + "\" for "
                                + key.host()
                                + "; it has no endpoints");
                subsetLabels = Map.of("\0no-subset", "");
            } else {
                subsetLabels = subset.labels();
                TrafficPolicy own = subset.trafficPolicy();
                policy = policy.overriddenBy(own);
                if (own != null && own.portLevelSettings().containsKey(key.port())) {
                    policy = own.atPort(key.port());
                }
            }
        }
        List<Cluster.Endpoint> endpoints = new ArrayList<>();
        Set<String> spiffeIds = new LinkedHashSet<>();
        Cluster.Type type = Cluster.Type.STATIC;
        if (se == null) {
            warnings.add(
                    "cluster "
                            + name
                            + ": no ServiceEntry declares "
                            + key.host()
                            + "; requests to it get 503");
        } else {
            ServiceEntry.ServicePort sp =
                    se.ports().stream()
                            .filter(p -> p.number() == key.port())
                            .findFirst()
                            .orElse(null);
            if (sp == null) {
                warnings.add(
                        "cluster "
                                + name
                                + ": "
                                + se.ref()
                                + " does not declare port "
                                + key.port());
            }
            List<WorkloadEntry.Endpoint> eps = new ArrayList<>();
            List<String> epNamespaces = new ArrayList<>();
            if (se.workloadSelector() != null) {
                for (WorkloadEntry we : all(WorkloadEntry.class)) {
                    if (we.metadata().namespace().equals(se.metadata().namespace())
                            && we.spec()
                                    .labels()
                                    .entrySet()
                                    .containsAll(se.workloadSelector().entrySet())) {
                        eps.add(we.spec());
                        epNamespaces.add(we.metadata().namespace());
                    }
                }
            } else {
                eps.addAll(se.endpoints());
                se.endpoints().forEach(e -> epNamespaces.add(se.metadata().namespace()));
            }
            boolean dns =
                    se.resolution() == ServiceEntry.Resolution.DNS
                            || se.resolution() == ServiceEntry.Resolution.DNS_ROUND_ROBIN;
            if (eps.isEmpty()
                    && se.workloadSelector() == null
                    && !key.host().startsWith("*")
                    && (dns || se.resolution() == ServiceEntry.Resolution.NONE)) {
                eps.add(
                        new WorkloadEntry.Endpoint(
                                key.host(), Map.of(), Map.of(), null, null, 0, null));
                epNamespaces.add(se.metadata().namespace());
            }
            for (int i = 0; i < eps.size(); i++) {
                WorkloadEntry.Endpoint e = eps.get(i);
                if (subsetLabels != null
                        && !e.labels().entrySet().containsAll(subsetLabels.entrySet())) {
                    continue;
                }
                if (e.address().isEmpty()) {
                    continue; // network-only entry: reached through another network's gateway,
                    // which Mithril lacks
                }
                int port = key.port();
                if (sp != null && e.ports().containsKey(sp.name())) {
                    port = e.ports().get(sp.name());
                } else if (sp != null && sp.targetPort() != null) {
                    port = sp.targetPort();
                }
                String id =
                        e.serviceAccount() == null || e.serviceAccount().isEmpty()
                                ? null
                                : "spiffe://"
                                        + node.trustDomain()
                                        + "/ns/"
                                        + epNamespaces.get(i)
                                        + "/sa/"
                                        + e.serviceAccount();
                if (id != null) {
                    spiffeIds.add(id);
                }
                if (!io.mithril.mesh.yaml.MeshYaml.isIpAddress(e.address())) {
                    type = Cluster.Type.STRICT_DNS;
                }
                endpoints.add(
                        new Cluster.Endpoint(
                                e.address(),
                                port,
                                e.weight() == 0 ? 1 : e.weight(),
                                e.labels(),
                                id));
            }
            spiffeIds.addAll(se.subjectAltNames());
        }
        UpstreamTls tls = null;
        DestinationRule.ClientTls t = policy.tls();
        if (t != null && t.mode() != DestinationRule.ClientTlsMode.DISABLE) {
            List<String> expected =
                    !t.subjectAltNames().isEmpty()
                            ? t.subjectAltNames()
                            : t.mode() == DestinationRule.ClientTlsMode.ISTIO_MUTUAL
                                    ? List.copyOf(spiffeIds)
                                    : List.of();
            tls =
                    new UpstreamTls(
                            UpstreamTls.Mode.valueOf(t.mode().name()),
                            expected,
                            t.sni(),
                            t.clientCertificate(),
                            t.privateKey(),
                            t.caCertificates(),
                            t.insecureSkipVerify());
        }
        DestinationRule.SimpleLb lb =
                policy.loadBalancer() == null
                                || policy.loadBalancer().simple()
                                        == DestinationRule.SimpleLb.UNSPECIFIED
                        ? DestinationRule.SimpleLb.LEAST_REQUEST
                        : policy.loadBalancer().simple();
        Duration connectTimeout =
                policy.connectionPool() != null && policy.connectionPool().connectTimeout() != null
                        ? policy.connectionPool().connectTimeout()
                        : DEFAULT_CONNECT_TIMEOUT;
        return new Cluster(
                name,
                key.host(),
                key.port(),
                key.subset(),
                type,
                endpoints,
                lb,
                tls,
                policy.outlierDetection(),
                policy.connectionPool(),
                connectTimeout,
                dr == null ? null : dr.ref());
    }

    // ----- authorization -----------------------------------------------------------------------

    private RbacPolicy rbac() {
        List<AuthorizationPolicy> deny = new ArrayList<>();
        List<AuthorizationPolicy> allow = new ArrayList<>();
        for (AuthorizationPolicy p : all(AuthorizationPolicy.class)) {
            String ns = p.metadata().namespace();
            boolean scope = ns.equals(node.namespace()) || ns.equals(ProxyNode.ROOT_NAMESPACE);
            if (!scope || p.selector() != null && !node.selectedBy(p.selector())) {
                continue;
            }
            switch (p.action()) {
                case DENY -> deny.add(p);
                case ALLOW -> allow.add(p);
                default ->
                        warnings.add(
                                p.ref() + ": action " + p.action() + " has no effect in Mithril");
            }
        }
        return new RbacPolicy(deny, allow);
    }
}
