package io.mithril.mesh.yaml;

import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.DestinationRule.ClientTls;
import io.mithril.mesh.model.DestinationRule.ClientTlsMode;
import io.mithril.mesh.model.DestinationRule.TrafficPolicy;
import io.mithril.mesh.model.Gateway;
import io.mithril.mesh.model.Metadata;
import io.mithril.mesh.model.Origin;
import io.mithril.mesh.model.PeerAuthentication;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.model.ServiceEntry;
import io.mithril.mesh.model.StringMatch;
import io.mithril.mesh.model.VirtualService;
import io.mithril.mesh.model.VirtualService.Destination;
import io.mithril.mesh.model.VirtualService.HeaderOperations;
import io.mithril.mesh.model.VirtualService.Headers;
import io.mithril.mesh.model.VirtualService.HttpMatchRequest;
import io.mithril.mesh.model.VirtualService.HttpRoute;
import io.mithril.mesh.model.VirtualService.HttpRouteDestination;
import io.mithril.mesh.model.WorkloadEntry;
import io.mithril.mesh.yaml.YNode.YScalar;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Parses and validates Istio configuration as users write it: multi-document YAML files with
 * {@code networking.istio.io/v1alpha3|v1beta1|v1} Gateway, VirtualService, DestinationRule,
 * ServiceEntry, WorkloadEntry and {@code security.istio.io/v1beta1|v1} PeerAuthentication,
 * AuthorizationPolicy. Documents of other API groups (a Deployment, a ServiceAccount in the same
 * file) are skipped, as {@code istioctl validate} leaves them to Kubernetes.
 *
 * <p>Every error is collected (file, line, document index, resource, field path, what is wrong);
 * a file with any error yields no resource at all, so bad input never half-applies.
 */
public final class MeshYaml {

    /** Resources read and every error found; {@link #resources} is empty when there is any error. */
    public record Result(List<Resource> resources, List<ValidationError> errors) {
        public Result {
            resources = List.copyOf(resources);
            errors = List.copyOf(errors);
        }

        public boolean ok() {
            return errors.isEmpty();
        }

        /** The resources, or a {@link MeshConfigException} with every error. */
        public List<Resource> orThrow() {
            if (!errors.isEmpty()) {
                throw new MeshConfigException(errors);
            }
            return resources;
        }
    }

    private static final Set<String> NETWORKING_VERSIONS = Set.of("v1alpha3", "v1beta1", "v1");
    private static final Set<String> SECURITY_VERSIONS = Set.of("v1beta1", "v1");
    private static final Set<String> NETWORKING_KINDS = Set.of("Gateway", "VirtualService", "DestinationRule",
            "ServiceEntry", "WorkloadEntry");
    private static final Set<String> SECURITY_KINDS = Set.of("PeerAuthentication", "AuthorizationPolicy");
    private static final Pattern DNS1123_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_LABEL_ANY_CASE = Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?");
    private static final Set<String> GATEWAY_PROTOCOLS = Set.of("HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO",
            "TCP", "TLS");
    private static final Set<String> HTTP_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
            "OPTIONS", "TRACE", "PATCH");

    private MeshYaml() {
    }

    /** Reads and validates every file; errors of all files are returned together. */
    public static Result parseFiles(List<Path> files) {
        List<Resource> resources = new ArrayList<>();
        List<ValidationError> errors = new ArrayList<>();
        for (Path file : files) {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                errors.add(new ValidationError(file.toString(), 0, -1, "", "", "cannot read file: " + e));
                continue;
            }
            Result r = parse(file.toString(), text);
            resources.addAll(r.resources());
            errors.addAll(r.errors());
        }
        if (errors.isEmpty()) {
            errors.addAll(crossCheck(resources));
        }
        return new Result(errors.isEmpty() ? resources : List.of(), errors);
    }

    /** Parses one file's text (named {@code file} in errors). Never throws for bad input. */
    public static Result parse(String file, String text) {
        YamlDocuments.Result docs = YamlDocuments.read(file, text);
        List<Resource> resources = new ArrayList<>();
        List<ValidationError> errors = new ArrayList<>(docs.errors());
        for (YamlDocuments.Document doc : docs.documents()) {
            Fields.Sink sink = new Fields.Sink(file, doc.index());
            Resource r = readDocument(sink, doc);
            errors.addAll(sink.errors);
            if (r != null && sink.errors.isEmpty()) {
                resources.add(r);
            }
        }
        if (errors.isEmpty()) {
            errors.addAll(crossCheck(resources));
        }
        return new Result(errors.isEmpty() ? resources : List.of(), errors);
    }

    /** Checks that span resources: two resources of the same kind with the same namespace/name. */
    private static List<ValidationError> crossCheck(List<Resource> resources) {
        List<ValidationError> errors = new ArrayList<>();
        Map<String, Resource> seen = new LinkedHashMap<>();
        for (Resource r : resources) {
            Resource before = seen.putIfAbsent(r.ref(), r);
            if (before != null) {
                errors.add(new ValidationError(r.origin().file(), r.origin().line(), r.origin().document(), r.ref(),
                        "metadata.name", "duplicate resource: already defined at " + before.origin()));
            }
        }
        return errors;
    }

    private static Resource readDocument(Fields.Sink sink, YamlDocuments.Document doc) {
        Fields top = Fields.of(sink, doc.root(), "");
        if (top == null) {
            return null;
        }
        String apiVersion = top.str("apiVersion");
        String kind = top.str("kind");
        if (apiVersion == null) {
            sink.error(doc.line(), "apiVersion", "is required");
            return null;
        }
        if (kind == null) {
            sink.error(doc.line(), "kind", "is required");
            return null;
        }
        int slash = apiVersion.indexOf('/');
        String group = slash < 0 ? "" : apiVersion.substring(0, slash);
        String version = slash < 0 ? apiVersion : apiVersion.substring(slash + 1);
        boolean networking = group.equals("networking.istio.io");
        boolean security = group.equals("security.istio.io");
        if (!networking && !security) {
            if (group.endsWith("istio.io")) {
                top.error("apiVersion", "unsupported API group \"" + group + "\" (Mithril reads networking.istio.io and security.istio.io)");
            }
            return null; // Not Istio's: Kubernetes' own objects in the same file are not ours to judge.
        }
        if (networking && !NETWORKING_VERSIONS.contains(version) || security && !SECURITY_VERSIONS.contains(version)) {
            top.error("apiVersion", "unsupported version \"" + apiVersion + "\" (want " + group + "/"
                    + (networking ? "v1alpha3, v1beta1 or v1" : "v1beta1 or v1") + ")");
            return null;
        }
        if (networking && !NETWORKING_KINDS.contains(kind) || security && !SECURITY_KINDS.contains(kind)) {
            top.error("kind", "unknown kind \"" + kind + "\" for " + apiVersion + " (want one of "
                    + String.join(", ", networking ? List.of("Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry")
                    : List.of("PeerAuthentication", "AuthorizationPolicy")) + ")");
            return null;
        }
        Metadata md = metadata(top);
        sink.resource = kind + " " + (md == null ? "?" : md.namespace() + "/" + md.name());
        Origin origin = new Origin(sink.file, doc.index(), doc.line());
        top.ignore("status");
        Fields spec = top.obj("spec");
        if (spec == null) {
            if (!top.has("spec") && !kind.equals("AuthorizationPolicy") && !kind.equals("PeerAuthentication")) {
                sink.error(doc.line(), "spec", "is required");
            }
            if (kind.equals("AuthorizationPolicy") || kind.equals("PeerAuthentication")) {
                spec = Fields.of(sink, new YScalar(null, YScalar.Kind.NULL, doc.line()), "spec");
            } else {
                top.finish();
                return null;
            }
        }
        top.finish();
        Resource r = switch (kind) {
            case "Gateway" -> gateway(spec, md, origin);
            case "VirtualService" -> virtualService(spec, md, origin);
            case "DestinationRule" -> destinationRule(spec, md, origin);
            case "ServiceEntry" -> serviceEntry(spec, md, origin);
            case "WorkloadEntry" -> new WorkloadEntry(md, origin, endpoint(spec, false));
            case "PeerAuthentication" -> peerAuthentication(spec, md, origin);
            case "AuthorizationPolicy" -> authorizationPolicy(spec, md, origin);
            default -> null;
        };
        spec.finish();
        return md == null ? null : r;
    }

    private static Metadata metadata(Fields top) {
        Fields m = top.obj("metadata");
        if (m == null) {
            top.sink.error(top.line(), "metadata", "is required");
            return null;
        }
        String name = m.reqStr("name");
        String ns = m.str("namespace");
        Map<String, String> labels = m.strMap("labels");
        m.ignore("annotations", "uid", "resourceVersion", "generation", "creationTimestamp", "generateName",
                "managedFields", "ownerReferences", "finalizers");
        m.finish();
        if (name != null && (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches())) {
            m.error("name", "invalid name \"" + name + "\": use lowercase letters, digits, '-' and '.' (RFC 1123)");
        }
        if (ns != null && (ns.length() > 63 || !DNS1123_LABEL.matcher(ns).matches())) {
            m.error("namespace", "invalid namespace \"" + ns + "\": use lowercase letters, digits and '-' (RFC 1123 label)");
        }
        if (name == null) {
            return null;
        }
        return new Metadata(name, ns == null || ns.isEmpty() ? "default" : ns, labels);
    }

    // ----- hosts -------------------------------------------------------------------------------

    /** A DNS name, optionally starting with {@code *.} or being just {@code *}. */
    static String checkHost(String host, boolean wildcardAllowed) {
        if (host.equals("*")) {
            return wildcardAllowed ? null : "wildcard host \"*\" is not allowed here";
        }
        String rest = host;
        if (host.indexOf('*') > 0) {
            return "invalid host \"" + host + "\": a wildcard must be the whole first label (\"*.example.com\")";
        }
        if (host.startsWith("*")) {
            if (!wildcardAllowed) {
                return "wildcard host \"" + host + "\" is not allowed here";
            }
            if (!host.startsWith("*.")) {
                return "invalid host \"" + host + "\": a wildcard must be the whole first label (\"*.example.com\")";
            }
            rest = host.substring(2);
        }
        if (rest.length() > 253) {
            return "invalid host \"" + host + "\": longer than 253 characters";
        }
        for (String label : rest.split("\\.", -1)) {
            if (label.isEmpty() || label.length() > 63 || !DNS_LABEL_ANY_CASE.matcher(label).matches()) {
                return "invalid host \"" + host + "\": \"" + label + "\" is not a DNS label (letters, digits, '-')";
            }
        }
        return null;
    }

    private static List<String> hosts(Fields f, String key, boolean required, boolean wildcard) {
        List<String> hosts = f.strList(key);
        if (required && hosts.isEmpty()) {
            f.error(key, "at least one host is required");
        }
        for (int i = 0; i < hosts.size(); i++) {
            String why = checkHost(hosts.get(i), wildcard);
            if (why != null) {
                f.sink.error(f.lineOf(key), f.at(key) + "[" + i + "]", why);
            }
        }
        return hosts;
    }

    private static Map<String, String> matchLabels(Fields spec, String key) {
        Fields sel = spec.obj(key);
        if (sel == null) {
            return null;
        }
        Map<String, String> labels = sel.strMap("matchLabels");
        sel.finish();
        return labels;
    }

    // ----- Gateway -----------------------------------------------------------------------------

    private static Gateway gateway(Fields spec, Metadata md, Origin origin) {
        Map<String, String> selector = spec.strMap("selector");
        List<Gateway.Server> servers = spec.objList("servers", MeshYaml::server);
        if (servers.isEmpty() && spec.list("servers").isEmpty()) {
            spec.error("servers", "at least one server is required");
        }
        Set<String> portNames = new HashSet<>();
        for (int i = 0; i < servers.size(); i++) {
            Gateway.Server s = servers.get(i);
            if (s.port().name() != null && !s.port().name().isEmpty() && !portNames.add(s.port().name() + "/" + s.port().number())) {
                spec.sink.error(spec.lineOf("servers"), spec.at("servers") + "[" + i + "].port.name",
                        "port name \"" + s.port().name() + "\" is used twice for port " + s.port().number());
            }
        }
        return new Gateway(md, origin, selector, servers);
    }

    private static Gateway.Server server(Fields f) {
        Fields pf = f.obj("port");
        Gateway.Port port = null;
        if (pf == null) {
            if (!f.has("port")) {
                f.error("port", "is required");
            }
        } else {
            Integer number = pf.integer("number", 1, 65535);
            if (number == null && !pf.has("number")) {
                pf.error("number", "is required");
            }
            String protocol = pf.reqStr("protocol");
            if (protocol != null && !GATEWAY_PROTOCOLS.contains(protocol.toUpperCase())) {
                pf.error("protocol", "unknown protocol \"" + protocol + "\" (want one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS)");
                protocol = null;
            }
            String name = pf.str("name");
            pf.ignore("targetPort");
            pf.finish();
            if (number != null && protocol != null) {
                port = new Gateway.Port(number, name, protocol.toUpperCase());
            }
        }
        String bind = f.str("bind");
        List<String> hosts = f.strList("hosts");
        if (hosts.isEmpty()) {
            f.error("hosts", "at least one host is required");
        }
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i);
            int slash = h.indexOf('/');
            String ns = slash < 0 ? null : h.substring(0, slash);
            String host = slash < 0 ? h : h.substring(slash + 1);
            String why = null;
            if (ns != null && !ns.equals("*") && !ns.equals(".") && !ns.equals("~") && !DNS1123_LABEL.matcher(ns).matches()) {
                why = "invalid namespace \"" + ns + "\" in host \"" + h + "\"";
            } else {
                why = checkHost(host, true);
            }
            if (why != null) {
                f.sink.error(f.lineOf("hosts"), f.at("hosts") + "[" + i + "]", why);
            }
        }
        Gateway.ServerTls tls = null;
        Fields tf = f.obj("tls");
        if (tf != null) {
            tls = serverTls(tf);
            tf.finish();
        }
        String name = f.str("name");
        f.ignore("defaultEndpoint");
        if (port != null) {
            boolean tlsProtocol = port.protocol().equals("HTTPS") || port.protocol().equals("TLS");
            if (tlsProtocol && (tls == null || tls.mode() == null) && !(tls != null && tls.httpsRedirect())) {
                f.sink.error(f.lineOf("port"), f.at("tls"), "server must have TLS settings for " + port.protocol() + " (set tls.mode)");
            }
            if (!tlsProtocol && tls != null && tls.mode() != null && !tls.httpsRedirect()) {
                f.sink.error(f.lineOf("tls"), f.at("tls.mode"), "TLS mode " + tls.mode() + " is only valid with protocol HTTPS or TLS, not "
                        + port.protocol());
            }
            if (tls != null && tls.mode() == Gateway.TlsMode.PASSTHROUGH && port.protocol().equals("HTTPS")) {
                f.sink.error(f.lineOf("tls"), f.at("tls.mode"), "PASSTHROUGH needs protocol TLS: an HTTPS server terminates TLS");
            }
        }
        return port == null ? null : new Gateway.Server(port, bind, hosts, tls, name);
    }

    private static Gateway.ServerTls serverTls(Fields t) {
        boolean redirect = Boolean.TRUE.equals(t.bool("httpsRedirect"));
        Gateway.TlsMode mode = t.enumValue("mode", Gateway.TlsMode.class);
        String cert = t.str("serverCertificate");
        String key = t.str("privateKey");
        String ca = t.str("caCertificates");
        String credential = t.str("credentialName");
        List<String> sans = t.strList("subjectAltNames");
        String min = t.str("minProtocolVersion");
        String max = t.str("maxProtocolVersion");
        List<String> ciphers = t.strList("cipherSuites");
        t.ignore("verifyCertificateSpki", "verifyCertificateHash", "caCrl");
        for (String v : new String[] {"minProtocolVersion", "maxProtocolVersion"}) {
            String val = v.equals("minProtocolVersion") ? min : max;
            if (val != null && !Set.of("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3").contains(val)) {
                t.error(v, "unknown TLS version \"" + val + "\" (want TLS_AUTO, TLSV1_2 or TLSV1_3)");
            }
        }
        if (mode == Gateway.TlsMode.SIMPLE || mode == Gateway.TlsMode.MUTUAL || mode == Gateway.TlsMode.OPTIONAL_MUTUAL) {
            if (credential == null && (cert == null || key == null)) {
                t.error("mode", mode + " mode needs serverCertificate and privateKey (or credentialName)");
            }
            if (mode != Gateway.TlsMode.SIMPLE && credential == null && ca == null) {
                t.error("mode", mode + " mode needs caCertificates (or credentialName) to verify clients");
            }
        }
        if (mode == Gateway.TlsMode.ISTIO_MUTUAL && (cert != null || key != null || ca != null || credential != null)) {
            t.error("mode", "ISTIO_MUTUAL uses the proxy's SVID and the mesh bundle: remove serverCertificate, privateKey, caCertificates and credentialName");
        }
        return new Gateway.ServerTls(redirect, mode, cert, key, ca, credential, sans, min, max, ciphers);
    }

    // ----- VirtualService ----------------------------------------------------------------------

    private static VirtualService virtualService(Fields spec, Metadata md, Origin origin) {
        List<String> gateways = spec.strList("gateways");
        boolean meshBound = gateways.isEmpty() || gateways.contains("mesh");
        List<String> hosts = hosts(spec, "hosts", true, true);
        if (meshBound && hosts.contains("*")) {
            spec.error("hosts", "wildcard host \"*\" is not allowed for a VirtualService bound to the mesh (sidecars); bind it to a gateway");
        }
        for (int i = 0; i < gateways.size(); i++) {
            String g = gateways.get(i);
            int slash = g.indexOf('/');
            String name = slash < 0 ? g : g.substring(slash + 1);
            String ns = slash < 0 ? null : g.substring(0, slash);
            if (!DNS1123_SUBDOMAIN.matcher(name).matches() || ns != null && !DNS1123_LABEL.matcher(ns).matches()) {
                spec.sink.error(spec.lineOf("gateways"), spec.at("gateways") + "[" + i + "]",
                        "invalid gateway reference \"" + g + "\" (write <name>, <namespace>/<name> or mesh)");
            }
        }
        List<HttpRoute> http = spec.objList("http", MeshYaml::httpRoute);
        List<String> exportTo = spec.strList("exportTo");
        spec.ignore("tcp", "tls", "delegate");
        if (spec.list("http").isEmpty() && !spec.has("tcp") && !spec.has("tls") && !spec.has("delegate")) {
            spec.sink.error(spec.line(), spec.at("http"), "a VirtualService needs at least one http, tcp or tls route");
        }
        return new VirtualService(md, origin, hosts, gateways, http, exportTo);
    }

    private static HttpRoute httpRoute(Fields f) {
        String name = f.str("name");
        List<HttpMatchRequest> match = f.objList("match", MeshYaml::matchRequest);
        List<HttpRouteDestination> route = f.objList("route", MeshYaml::routeDestination);
        VirtualService.HttpRedirect redirect = null;
        Fields rf = f.obj("redirect");
        if (rf != null) {
            String uri = rf.str("uri");
            String authority = rf.str("authority");
            Integer port = rf.integer("port", 1, 65535);
            String scheme = rf.str("scheme");
            Integer code = rf.integer("redirectCode", 300, 399);
            rf.ignore("derivePort");
            rf.finish();
            if (uri == null && authority == null && port == null && scheme == null) {
                rf.sink.error(rf.line(), rf.path, "redirect must set at least one of uri, authority, port or scheme");
            }
            if (scheme != null && !scheme.equals("http") && !scheme.equals("https")) {
                rf.sink.error(rf.line(), rf.at("scheme"), "scheme must be http or https, found \"" + scheme + "\"");
            }
            redirect = new VirtualService.HttpRedirect(uri, authority, port, scheme, code == null ? 301 : code);
        }
        VirtualService.HttpDirectResponse direct = null;
        Fields df = f.obj("directResponse");
        if (df != null) {
            Integer status = df.integer("status", 200, 599);
            if (status == null && !df.has("status")) {
                df.error("status", "is required");
            }
            String body = null;
            Fields bf = df.obj("body");
            if (bf != null) {
                body = bf.str("string");
                bf.ignore("bytes");
                bf.finish();
            }
            df.finish();
            direct = new VirtualService.HttpDirectResponse(status == null ? 200 : status, body);
        }
        VirtualService.HttpRewrite rewrite = null;
        Fields wf = f.obj("rewrite");
        if (wf != null) {
            String uri = wf.str("uri");
            String authority = wf.str("authority");
            wf.ignore("uriRegexRewrite");
            wf.finish();
            if (uri == null && authority == null) {
                wf.sink.error(wf.line(), wf.path, "rewrite must set uri or authority");
            }
            rewrite = new VirtualService.HttpRewrite(uri, authority);
        }
        var timeout = f.duration("timeout");
        VirtualService.HttpRetry retries = null;
        Fields tf = f.obj("retries");
        if (tf != null) {
            Integer attempts = tf.integer("attempts", 0, Integer.MAX_VALUE);
            var perTry = tf.duration("perTryTimeout");
            String retryOn = tf.str("retryOn");
            tf.ignore("retryRemoteLocalities");
            tf.finish();
            retries = new VirtualService.HttpRetry(attempts == null ? 0 : attempts, perTry,
                    retryOn == null ? List.of() : List.of(retryOn.split("\\s*,\\s*")));
        }
        VirtualService.HttpFault fault = null;
        Fields ff = f.obj("fault");
        if (ff != null) {
            VirtualService.HttpFault.Delay delay = null;
            Fields dl = ff.obj("delay");
            if (dl != null) {
                var fixed = dl.duration("fixedDelay");
                if (fixed == null && !dl.has("fixedDelay")) {
                    dl.error("fixedDelay", "is required");
                }
                double pct = percentage(dl);
                dl.ignore("exponentialDelay");
                dl.finish();
                delay = fixed == null ? null : new VirtualService.HttpFault.Delay(fixed, pct);
            }
            VirtualService.HttpFault.Abort abort = null;
            Fields ab = ff.obj("abort");
            if (ab != null) {
                Integer status = ab.integer("httpStatus", 200, 599);
                if (status == null && !ab.has("httpStatus")) {
                    ab.error("httpStatus", "is required");
                }
                double pct = percentage(ab);
                ab.ignore("grpcStatus", "http2Error");
                ab.finish();
                abort = status == null ? null : new VirtualService.HttpFault.Abort(status, pct);
            }
            ff.finish();
            if (delay == null && abort == null && !ff.has("delay") && !ff.has("abort")) {
                ff.sink.error(ff.line(), ff.path, "fault must set delay or abort");
            }
            fault = new VirtualService.HttpFault(delay, abort);
        }
        Headers headers = headers(f);
        Destination mirror = null;
        Fields mf = f.obj("mirror");
        if (mf != null) {
            mirror = destination(mf);
            mf.finish();
        }
        Double mirrorPct = null;
        Fields mp = f.obj("mirrorPercentage");
        if (mp != null) {
            mirrorPct = mp.number("value", 0, 100);
            mp.finish();
        }
        f.ignore("mirrors", "mirror_percent", "mirrorPercent", "delegate");
        VirtualService.CorsPolicy cors = null;
        Fields cf = f.obj("corsPolicy");
        if (cf != null) {
            List<StringMatch> origins = new ArrayList<>();
            List<YNode> items = cf.list("allowOrigins");
            for (int i = 0; i < items.size(); i++) {
                Fields of = Fields.of(cf.sink, items.get(i), cf.at("allowOrigins") + "[" + i + "]");
                if (of != null) {
                    StringMatch m = stringMatch(of);
                    of.finish();
                    if (m != null) {
                        origins.add(m);
                    }
                }
            }
            for (String o : cf.strList("allowOrigin")) {
                origins.add(new StringMatch.Exact(o));
            }
            cors = new VirtualService.CorsPolicy(origins, cf.strList("allowMethods"), cf.strList("allowHeaders"),
                    cf.strList("exposeHeaders"), cf.duration("maxAge"), cf.bool("allowCredentials"));
            cf.ignore("unmatchedPreflights");
            cf.finish();
        }
        int actions = (route.isEmpty() && f.list("route").isEmpty() ? 0 : 1) + (rf == null ? 0 : 1) + (df == null ? 0 : 1);
        if (actions == 0 && !f.has("delegate")) {
            f.sink.error(f.line(), f.path, "an HTTP rule needs one of route, redirect or directResponse");
        } else if (actions > 1) {
            f.sink.error(f.line(), f.path, "route, redirect and directResponse are exclusive: set only one");
        }
        if (rewrite != null && redirect != null) {
            f.sink.error(f.lineOf("rewrite"), f.at("rewrite"), "rewrite may not be combined with redirect");
        }
        if (route.size() > 1 && route.stream().allMatch(d -> d.weight() == 0)) {
            f.sink.error(f.lineOf("route"), f.at("route"), "with several destinations, give each a weight (they are all 0)");
        }
        return new HttpRoute(name, match, route, redirect, direct, rewrite, timeout, retries, fault, headers, mirror,
                mirrorPct, cors);
    }

    private static double percentage(Fields f) {
        Double pct = null;
        Fields p = f.obj("percentage");
        if (p != null) {
            pct = p.number("value", 0, 100);
            p.finish();
        }
        Integer legacy = f.integer("percent", 0, 100);
        if (pct == null && legacy != null) {
            pct = legacy.doubleValue();
        }
        return pct == null ? 100.0 : pct;
    }

    private static Headers headers(Fields f) {
        Fields hf = f.obj("headers");
        if (hf == null) {
            return Headers.NONE;
        }
        HeaderOperations req = headerOps(hf.obj("request"));
        HeaderOperations resp = headerOps(hf.obj("response"));
        hf.finish();
        return new Headers(req, resp);
    }

    private static HeaderOperations headerOps(Fields f) {
        if (f == null) {
            return HeaderOperations.NONE;
        }
        HeaderOperations ops = new HeaderOperations(lower(f.strMap("set")), lower(f.strMap("add")),
                f.strList("remove").stream().map(s -> s.toLowerCase(java.util.Locale.ROOT)).toList());
        f.finish();
        return ops;
    }

    private static Map<String, String> lower(Map<String, String> m) {
        Map<String, String> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k.toLowerCase(java.util.Locale.ROOT), v));
        return out;
    }

    private static HttpMatchRequest matchRequest(Fields f) {
        String name = f.str("name");
        StringMatch uri = stringMatchField(f, "uri");
        StringMatch scheme = stringMatchField(f, "scheme");
        StringMatch method = stringMatchField(f, "method");
        if (method instanceof StringMatch.Exact e && !HTTP_METHODS.contains(e.value())) {
            f.error("method", "unknown HTTP method \"" + e.value() + "\" (methods are upper case: GET, POST, ...)");
        }
        StringMatch authority = stringMatchField(f, "authority");
        Map<String, StringMatch> headers = stringMatchMap(f, "headers");
        Map<String, StringMatch> without = stringMatchMap(f, "withoutHeaders");
        Map<String, StringMatch> query = stringMatchMap(f, "queryParams");
        for (String h : headers.keySet()) {
            if (h.isEmpty()) {
                f.error("headers", "header name is empty");
            }
        }
        Integer port = f.integer("port", 1, 65535);
        boolean ignoreUriCase = Boolean.TRUE.equals(f.bool("ignoreUriCase"));
        Map<String, String> sourceLabels = f.strMap("sourceLabels");
        List<String> gateways = f.strList("gateways");
        String sourceNamespace = f.str("sourceNamespace");
        f.ignore("statPrefix");
        return new HttpMatchRequest(name, uri, scheme, method, authority, lowerKeys(headers), lowerKeys(without), query, port,
                ignoreUriCase, sourceLabels, gateways, sourceNamespace);
    }

    private static Map<String, StringMatch> lowerKeys(Map<String, StringMatch> m) {
        Map<String, StringMatch> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k.toLowerCase(java.util.Locale.ROOT), v));
        return out;
    }

    private static StringMatch stringMatchField(Fields f, String key) {
        Fields sf = f.obj(key);
        if (sf == null) {
            return null;
        }
        StringMatch m = stringMatch(sf);
        sf.finish();
        return m;
    }

    private static Map<String, StringMatch> stringMatchMap(Fields f, String key) {
        Map<String, StringMatch> out = new LinkedHashMap<>();
        f.objMap(key, sf -> {
            StringMatch m = stringMatch(sf);
            return m == null ? new StringMatch.Prefix("") : m; // {} means "present" in Istio
        }).forEach(out::put);
        return out;
    }

    /** {@code {exact|prefix|regex: value}}: exactly one. */
    private static StringMatch stringMatch(Fields f) {
        String exact = f.str("exact");
        String prefix = f.str("prefix");
        String regex = f.str("regex");
        int n = (exact != null ? 1 : 0) + (prefix != null ? 1 : 0) + (regex != null ? 1 : 0);
        if (n > 1) {
            f.sink.error(f.line(), f.path, "set only one of exact, prefix or regex");
            return null;
        }
        if (exact != null) {
            return new StringMatch.Exact(exact);
        }
        if (prefix != null) {
            return new StringMatch.Prefix(prefix);
        }
        if (regex != null) {
            try {
                return StringMatch.Regex.of(regex);
            } catch (PatternSyntaxException e) {
                f.error("regex", "invalid regular expression \"" + regex + "\": " + e.getDescription());
                return null;
            }
        }
        if (!f.map.entries().isEmpty()) {
            return null; // unknown fields are reported by finish()
        }
        return null;
    }

    private static HttpRouteDestination routeDestination(Fields f) {
        Fields df = f.obj("destination");
        Destination d = null;
        if (df == null) {
            if (!f.has("destination")) {
                f.error("destination", "is required");
            }
        } else {
            d = destination(df);
            df.finish();
        }
        Integer weight = f.integer("weight", 0, Integer.MAX_VALUE);
        Headers headers = headers(f);
        return d == null ? null : new HttpRouteDestination(d, weight == null ? 0 : weight, headers);
    }

    private static Destination destination(Fields f) {
        String host = f.reqStr("host");
        if (host != null) {
            String why = checkHost(host, false);
            if (why != null) {
                f.error("host", why);
            }
        }
        String subset = f.str("subset");
        Integer port = null;
        Fields pf = f.obj("port");
        if (pf != null) {
            port = pf.integer("number", 1, 65535);
            pf.finish();
        }
        return host == null ? null : new Destination(host, subset, port);
    }

    // ----- DestinationRule ---------------------------------------------------------------------

    private static DestinationRule destinationRule(Fields spec, Metadata md, Origin origin) {
        String host = spec.reqStr("host");
        if (host != null) {
            String why = checkHost(host, true);
            if (why != null) {
                spec.error("host", why);
            }
        }
        TrafficPolicy policy = trafficPolicy(spec.obj("trafficPolicy"));
        List<DestinationRule.Subset> subsets = spec.objList("subsets", sf -> {
            String name = sf.reqStr("name");
            if (name != null && !DNS1123_LABEL.matcher(name).matches() && !name.matches("[A-Za-z0-9][-A-Za-z0-9_.]*")) {
                sf.error("name", "invalid subset name \"" + name + "\"");
            }
            Map<String, String> labels = sf.strMap("labels");
            TrafficPolicy tp = trafficPolicy(sf.obj("trafficPolicy"));
            return name == null ? null : new DestinationRule.Subset(name, labels, tp);
        });
        Set<String> names = new HashSet<>();
        for (DestinationRule.Subset s : subsets) {
            if (!names.add(s.name())) {
                spec.error("subsets", "duplicate subset name \"" + s.name() + "\"");
            }
        }
        List<String> exportTo = spec.strList("exportTo");
        spec.ignore("workloadSelector", "trafficPolicy.portLevelSettings");
        return new DestinationRule(md, origin, host, policy, subsets, exportTo);
    }

    private static TrafficPolicy trafficPolicy(Fields f) {
        if (f == null) {
            return null;
        }
        DestinationRule.LoadBalancer lb = null;
        Fields lf = f.obj("loadBalancer");
        if (lf != null) {
            DestinationRule.SimpleLb simple = lf.enumValue("simple", DestinationRule.SimpleLb.class);
            lf.ignore("consistentHash", "localityLbSetting", "warmupDurationSecs", "warmup");
            lf.finish();
            lb = new DestinationRule.LoadBalancer(simple == null ? DestinationRule.SimpleLb.UNSPECIFIED : simple);
        }
        DestinationRule.ConnectionPool pool = null;
        Fields cf = f.obj("connectionPool");
        if (cf != null) {
            Integer maxConn = null;
            java.time.Duration connectTimeout = null;
            Fields tcp = cf.obj("tcp");
            if (tcp != null) {
                maxConn = tcp.integer("maxConnections", 1, Integer.MAX_VALUE);
                connectTimeout = tcp.duration("connectTimeout");
                tcp.ignore("tcpKeepalive", "maxConnectionDuration", "idleTimeout");
                tcp.finish();
            }
            Integer pending = null;
            Integer h2max = null;
            Integer perConn = null;
            Integer maxRetries = null;
            java.time.Duration idle = null;
            Fields http = cf.obj("http");
            if (http != null) {
                pending = http.integer("http1MaxPendingRequests", 1, Integer.MAX_VALUE);
                h2max = http.integer("http2MaxRequests", 1, Integer.MAX_VALUE);
                perConn = http.integer("maxRequestsPerConnection", 0, Integer.MAX_VALUE);
                maxRetries = http.integer("maxRetries", 0, Integer.MAX_VALUE);
                idle = http.duration("idleTimeout");
                http.ignore("h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams");
                http.finish();
            }
            cf.finish();
            pool = new DestinationRule.ConnectionPool(maxConn, connectTimeout, pending, h2max, perConn, maxRetries, idle);
        }
        DestinationRule.OutlierDetection od = null;
        Fields of = f.obj("outlierDetection");
        if (of != null) {
            Integer c5xx = of.integer("consecutive5xxErrors", 0, Integer.MAX_VALUE);
            Integer legacy = of.integer("consecutiveErrors", 0, Integer.MAX_VALUE);
            Integer gw = of.integer("consecutiveGatewayErrors", 0, Integer.MAX_VALUE);
            var interval = of.duration("interval");
            var base = of.duration("baseEjectionTime");
            Integer maxPct = of.integer("maxEjectionPercent", 0, 100);
            of.ignore("minHealthPercent", "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures");
            of.finish();
            int errors = c5xx != null ? c5xx : legacy != null ? legacy : gw != null ? gw : 5;
            od = new DestinationRule.OutlierDetection(errors, interval == null ? java.time.Duration.ofSeconds(10) : interval,
                    base == null ? java.time.Duration.ofSeconds(30) : base, maxPct == null ? 10 : maxPct);
        }
        ClientTls tls = null;
        Fields tf = f.obj("tls");
        if (tf != null) {
            ClientTlsMode mode = tf.enumValue("mode", ClientTlsMode.class);
            String cert = tf.str("clientCertificate");
            String key = tf.str("privateKey");
            String ca = tf.str("caCertificates");
            String credential = tf.str("credentialName");
            List<String> sans = tf.strList("subjectAltNames");
            String sni = tf.str("sni");
            Boolean insecure = tf.bool("insecureSkipVerify");
            tf.ignore("caCrl");
            tf.finish();
            if (mode == ClientTlsMode.MUTUAL && credential == null && (cert == null || key == null)) {
                tf.sink.error(tf.lineOf("mode"), tf.at("mode"), "MUTUAL mode needs clientCertificate and privateKey (or credentialName)");
            }
            if (mode == ClientTlsMode.ISTIO_MUTUAL && (cert != null || key != null || ca != null || credential != null)) {
                tf.sink.error(tf.lineOf("mode"), tf.at("mode"),
                        "ISTIO_MUTUAL uses the proxy's SVID and the mesh bundle: remove clientCertificate, privateKey, caCertificates and credentialName");
            }
            tls = new ClientTls(mode == null ? ClientTlsMode.DISABLE : mode, cert, key, ca, credential, sans, sni,
                    Boolean.TRUE.equals(insecure));
        }
        f.ignore("portLevelSettings", "tunnel", "proxyProtocol");
        f.finish();
        return new TrafficPolicy(lb, pool, od, tls);
    }

    // ----- ServiceEntry / WorkloadEntry --------------------------------------------------------

    private static ServiceEntry serviceEntry(Fields spec, Metadata md, Origin origin) {
        List<String> hosts = hosts(spec, "hosts", true, true);
        List<String> addresses = spec.strList("addresses");
        List<ServiceEntry.ServicePort> ports = spec.objList("ports", pf -> {
            Integer number = pf.integer("number", 1, 65535);
            if (number == null && !pf.has("number")) {
                pf.error("number", "is required");
            }
            String protocol = pf.str("protocol");
            String name = pf.str("name");
            Integer target = pf.integer("targetPort", 1, 65535);
            if (protocol != null && !GATEWAY_PROTOCOLS.contains(protocol.toUpperCase()) && !protocol.equalsIgnoreCase("UDP")) {
                pf.error("protocol", "unknown protocol \"" + protocol + "\" (want one of HTTP, HTTPS, GRPC, HTTP2, TCP, TLS)");
            }
            return number == null ? null : new ServiceEntry.ServicePort(number, protocol == null ? "TCP" : protocol.toUpperCase(),
                    name == null ? "" : name, target);
        });
        if (ports.isEmpty() && spec.list("ports").isEmpty()) {
            spec.sink.error(spec.lineOf("ports"), spec.at("ports"), "a ServiceEntry needs at least one port");
        }
        Set<Integer> numbers = new HashSet<>();
        Set<String> portNames = new HashSet<>();
        for (ServiceEntry.ServicePort p : ports) {
            if (!numbers.add(p.number())) {
                spec.error("ports", "port number " + p.number() + " is declared twice");
            }
            if (!p.name().isEmpty() && !portNames.add(p.name())) {
                spec.error("ports", "port name \"" + p.name() + "\" is declared twice");
            }
        }
        ServiceEntry.Location location = spec.enumValue("location", ServiceEntry.Location.class);
        ServiceEntry.Resolution resolution = spec.enumValue("resolution", ServiceEntry.Resolution.class);
        if (resolution == null) {
            resolution = ServiceEntry.Resolution.NONE;
        }
        final ServiceEntry.Resolution res = resolution;
        List<WorkloadEntry.Endpoint> endpoints = spec.objList("endpoints", ef -> endpoint(ef, res != ServiceEntry.Resolution.DNS
                && res != ServiceEntry.Resolution.DNS_ROUND_ROBIN));
        Map<String, String> selector = null;
        Fields ws = spec.obj("workloadSelector");
        if (ws != null) {
            selector = ws.strMap("labels");
            ws.finish();
        }
        if (selector != null && !endpoints.isEmpty()) {
            spec.error("workloadSelector", "endpoints and workloadSelector are exclusive: set only one");
        }
        if (resolution == ServiceEntry.Resolution.STATIC && endpoints.isEmpty() && selector == null) {
            spec.error("resolution", "resolution STATIC needs endpoints (or a workloadSelector)");
        }
        for (WorkloadEntry.Endpoint e : endpoints) {
            for (String portName : e.ports().keySet()) {
                if (!portNames.contains(portName)) {
                    spec.error("endpoints", "endpoint " + e.address() + " names port \"" + portName
                            + "\", which is not one of the ServiceEntry's ports " + portNames);
                }
            }
        }
        List<String> sans = spec.strList("subjectAltNames");
        List<String> exportTo = spec.strList("exportTo");
        return new ServiceEntry(md, origin, hosts, addresses, ports, location == null ? ServiceEntry.Location.MESH_EXTERNAL : location,
                resolution, endpoints, selector, sans, exportTo);
    }

    private static WorkloadEntry.Endpoint endpoint(Fields f, boolean addressMustBeIp) {
        String address = f.reqStr("address");
        if (address != null && addressMustBeIp && !isIpLiteral(address) && !address.startsWith("unix://")) {
            f.error("address", "\"" + address + "\" is not an IP address (use resolution DNS for host names)");
        } else if (address != null && !isIpLiteral(address) && !address.startsWith("unix://")
                && checkHost(address, false) != null) {
            f.error("address", "\"" + address + "\" is neither an IP address nor a host name");
        }
        Map<String, Integer> ports = new LinkedHashMap<>();
        Fields pf = f.obj("ports");
        if (pf != null) {
            for (String k : pf.map.entries().keySet()) {
                Integer n = pf.integer(k, 1, 65535);
                if (n != null) {
                    ports.put(k, n);
                }
            }
            pf.finish();
        }
        Map<String, String> labels = f.strMap("labels");
        String network = f.str("network");
        String locality = f.str("locality");
        Integer weight = f.integer("weight", 0, Integer.MAX_VALUE);
        String sa = f.str("serviceAccount");
        return address == null ? null : new WorkloadEntry.Endpoint(address, ports, labels, network, locality,
                weight == null ? 0 : weight, sa);
    }

    /** Whether {@code s} is an IPv4 or IPv6 literal (checked without resolving anything). */
    public static boolean isIpAddress(String s) {
        return isIpLiteral(s);
    }

    static boolean isIpLiteral(String s) {
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String part : s.split("\\.")) {
                if (Integer.parseInt(part) > 255) {
                    return false;
                }
            }
            return true;
        }
        if (s.indexOf(':') >= 0 && s.matches("[0-9a-fA-F:.]+")) {
            try {
                InetAddress.getByName(s);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        return false;
    }

    // ----- security ----------------------------------------------------------------------------

    private static PeerAuthentication peerAuthentication(Fields spec, Metadata md, Origin origin) {
        Map<String, String> selector = matchLabels(spec, "selector");
        PeerAuthentication.Mode mode = PeerAuthentication.Mode.UNSET;
        Fields mf = spec.obj("mtls");
        if (mf != null) {
            PeerAuthentication.Mode m = mf.enumValue("mode", PeerAuthentication.Mode.class);
            mf.finish();
            if (m != null) {
                mode = m;
            }
        }
        Map<Integer, PeerAuthentication.Mode> ports = new LinkedHashMap<>();
        spec.objMap("portLevelMtls", pf -> pf.enumValue("mode", PeerAuthentication.Mode.class)).forEach((k, v) -> {
            try {
                int port = Integer.parseInt(k);
                if (port < 1 || port > 65535) {
                    throw new NumberFormatException();
                }
                ports.put(port, v);
            } catch (NumberFormatException e) {
                spec.error("portLevelMtls", "port \"" + k + "\" is not a port number (1-65535)");
            }
        });
        if (!ports.isEmpty() && (selector == null || selector.isEmpty())) {
            spec.error("portLevelMtls", "portLevelMtls requires a workload selector");
        }
        return new PeerAuthentication(md, origin, selector, mode, ports);
    }

    private static AuthorizationPolicy authorizationPolicy(Fields spec, Metadata md, Origin origin) {
        Map<String, String> selector = matchLabels(spec, "selector");
        AuthorizationPolicy.Action action = spec.enumValue("action", AuthorizationPolicy.Action.class);
        if (action == AuthorizationPolicy.Action.CUSTOM) {
            spec.error("action", "CUSTOM (external authorization) is not supported by Mithril; use ALLOW or DENY");
        }
        spec.ignore("provider", "targetRef", "targetRefs");
        boolean rulesGiven = spec.has("rules");
        List<AuthorizationPolicy.Rule> rules = spec.objList("rules", rf -> {
            List<AuthorizationPolicy.Source> from = rf.objList("from", ff -> {
                Fields s = ff.obj("source");
                if (s == null) {
                    ff.error("source", "is required");
                    return null;
                }
                List<String> principals = principals(s, "principals");
                List<String> notPrincipals = principals(s, "notPrincipals");
                AuthorizationPolicy.Source src = new AuthorizationPolicy.Source(principals, notPrincipals,
                        s.strList("namespaces"), s.strList("notNamespaces"), s.strList("ipBlocks"), s.strList("notIpBlocks"));
                s.ignore("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks",
                        "serviceAccounts", "notServiceAccounts");
                s.finish();
                return src;
            });
            List<AuthorizationPolicy.Operation> to = rf.objList("to", tf -> {
                Fields o = tf.obj("operation");
                if (o == null) {
                    tf.error("operation", "is required");
                    return null;
                }
                List<String> ports = o.strList("ports");
                for (String p : ports) {
                    if (!p.matches("\\d{1,5}")) {
                        o.error("ports", "port \"" + p + "\" is not a number");
                    }
                }
                List<String> paths = o.strList("paths");
                for (String p : paths) {
                    checkAuthzPattern(o, "paths", p);
                }
                AuthorizationPolicy.Operation op = new AuthorizationPolicy.Operation(o.strList("hosts"), o.strList("notHosts"),
                        ports, o.strList("notPorts"), o.strList("methods"), o.strList("notMethods"), paths, o.strList("notPaths"));
                o.finish();
                return op;
            });
            List<AuthorizationPolicy.Condition> when = rf.objList("when", wf -> {
                String key = wf.reqStr("key");
                List<String> values = wf.strList("values");
                List<String> notValues = wf.strList("notValues");
                if (values.isEmpty() && notValues.isEmpty()) {
                    wf.sink.error(wf.line(), wf.path, "a condition needs values or notValues");
                }
                return key == null ? null : new AuthorizationPolicy.Condition(key, values, notValues);
            });
            return new AuthorizationPolicy.Rule(from, to, when);
        });
        return new AuthorizationPolicy(md, origin, selector, action == null ? AuthorizationPolicy.Action.ALLOW : action, rules,
                rulesGiven);
    }

    private static List<String> principals(Fields s, String key) {
        List<String> ps = s.strList(key);
        for (String p : ps) {
            if (p.startsWith("spiffe://")) {
                s.error(key, "principal \"" + p + "\" must be written without \"spiffe://\" (e.g. \""
                        + p.substring("spiffe://".length()) + "\")");
            }
            checkAuthzPattern(s, key, p);
        }
        return ps;
    }

    /** Istio allows "*" only as the whole value, a prefix or a suffix. */
    private static void checkAuthzPattern(Fields f, String key, String value) {
        String inner = value.length() > 2 ? value.substring(1, value.length() - 1) : "";
        if (inner.contains("*") || value.equals("**")) {
            f.error(key, "\"" + value + "\": '*' is allowed only as a prefix, a suffix, or the whole value");
        }
    }
}
