package io.mithril.mesh.yaml;

import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.DestinationRule;
import io.mithril.mesh.model.DestinationRule.ClientTls;
import io.mithril.mesh.model.DestinationRule.ClientTlsMode;
import io.mithril.mesh.model.DestinationRule.TrafficPolicy;
import io.mithril.mesh.model.Gateway;
import io.mithril.mesh.model.Metadata;
import io.mithril.mesh.model.Origin;
import io.mithril.mesh.model.PathTemplate;
import io.mithril.mesh.model.PeerAuthentication;
import io.mithril.mesh.model.Resource;
import io.mithril.mesh.model.ServiceAccounts;
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
import java.util.stream.Stream;

/**
 * Parses and validates Istio configuration as users write it: multi-document YAML files with {@code
 * networking.istio.io/v1alpha3|v1beta1|v1} Gateway, VirtualService, DestinationRule, ServiceEntry,
 * WorkloadEntry and {@code security.istio.io/v1beta1|v1} PeerAuthentication, AuthorizationPolicy.
 * Documents of other API groups (a Deployment, a ServiceAccount in the same file) are skipped, as
 * {@code istioctl validate} leaves them to Kubernetes.
 *
 * <p>Every error is collected (file, line, document index, resource, field path, what is wrong); a
 * file with any error yields no resource at all, so bad input never half-applies.
 */
public final class MeshYaml {

    /**
     * Resources read and every error found; {@link #resources} is empty when there is any error.
     */
    public record Result(
            List<Resource> resources,
            List<ValidationError> errors,
            List<ValidationError> warnings) {
        public Result {
            resources = List.copyOf(resources);
            errors = List.copyOf(errors);
            warnings = List.copyOf(warnings);
        }

        /** A result without warnings. */
        public Result(List<Resource> resources, List<ValidationError> errors) {
            this(resources, errors, List.of());
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
    private static final Set<String> NETWORKING_KINDS =
            Set.of("Gateway", "VirtualService", "DestinationRule", "ServiceEntry", "WorkloadEntry");
    private static final Set<String> SECURITY_KINDS =
            Set.of("PeerAuthentication", "AuthorizationPolicy");
    private static final Pattern DNS1123_SUBDOMAIN =
            Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final Pattern DNS1123_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
    private static final Pattern DNS_LABEL_ANY_CASE =
            Pattern.compile("[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?");
    private static final Set<String> GATEWAY_PROTOCOLS =
            Set.of("HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS");
    private static final Set<String> HTTP_METHODS =
            Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");

    private MeshYaml() {}

    /** Reads and validates every file; errors of all files are returned together. */
    public static Result parseFiles(List<Path> files) {
        List<Resource> resources = new ArrayList<>();
        List<ValidationError> errors = new ArrayList<>();
        List<ValidationError> warnings = new ArrayList<>();
        for (Path file : files) {
            String text;
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException | RuntimeException e) {
                errors.add(
                        new ValidationError(
                                file.toString(), 0, -1, "", "", "cannot read file: " + e));
                continue;
            }
            Result r = parse(file.toString(), text);
            resources.addAll(r.resources());
            errors.addAll(r.errors());
            warnings.addAll(r.warnings());
        }
        if (errors.isEmpty()) {
            errors.addAll(crossCheck(resources));
        }
        return new Result(errors.isEmpty() ? resources : List.of(), errors, warnings);
    }

    /** Parses one file's text (named {@code file} in errors). Never throws for bad input. */
    public static Result parse(String file, String text) {
        YamlDocuments.Result docs = YamlDocuments.read(file, text);
        List<Resource> resources = new ArrayList<>();
        List<ValidationError> errors = new ArrayList<>(docs.errors());
        List<ValidationError> warnings = new ArrayList<>();
        for (YamlDocuments.Document doc : docs.documents()) {
            Fields.Sink sink = new Fields.Sink(file, doc.index());
            Resource r = readDocument(sink, doc);
            errors.addAll(sink.errors);
            warnings.addAll(sink.warnings);
            if (r != null && sink.errors.isEmpty()) {
                resources.add(r);
            }
        }
        if (errors.isEmpty()) {
            errors.addAll(crossCheck(resources));
        }
        return new Result(errors.isEmpty() ? resources : List.of(), errors, warnings);
    }

    /** Checks that span resources: two resources of the same kind with the same namespace/name. */
    private static List<ValidationError> crossCheck(List<Resource> resources) {
        List<ValidationError> errors = new ArrayList<>();
        Map<String, Resource> seen = new LinkedHashMap<>();
        for (Resource r : resources) {
            Resource before = seen.putIfAbsent(r.ref(), r);
            if (before != null) {
                errors.add(
                        new ValidationError(
                                r.origin().file(),
                                r.origin().line(),
                                r.origin().document(),
                                r.ref(),
                                "metadata.name",
                                "duplicate resource: already defined at " + before.origin()));
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
                top.error(
                        "apiVersion",
                        "unsupported API group \""
                                + group
                                + "\" (Mithril reads networking.istio.io and security.istio.io)");
            }
            return null; // Not Istio's: Kubernetes' own objects in the same file are not ours to
            // judge.
        }
        if (networking && !NETWORKING_VERSIONS.contains(version)
                || security && !SECURITY_VERSIONS.contains(version)) {
            top.error(
                    "apiVersion",
                    "unsupported version \""
                            + apiVersion
                            + "\" (want "
                            + group
                            + "/"
                            + (networking ? "v1alpha3, v1beta1 or v1" : "v1beta1 or v1")
                            + ")");
            return null;
        }
        if (networking && !NETWORKING_KINDS.contains(kind)
                || security && !SECURITY_KINDS.contains(kind)) {
            top.error(
                    "kind",
                    "unknown kind \""
                            + kind
                            + "\" for "
                            + apiVersion
                            + " (want one of "
                            + String.join(
                                    ", ",
                                    networking
                                            ? List.of(
                                                    "Gateway",
                                                    "VirtualService",
                                                    "DestinationRule",
                                                    "ServiceEntry",
                                                    "WorkloadEntry")
                                            : List.of("PeerAuthentication", "AuthorizationPolicy"))
                            + ")");
            return null;
        }
        Metadata md = metadata(top);
        dryRun(top, doc, kind);
        sink.resource = kind + " " + (md == null ? "?" : md.namespace() + "/" + md.name());
        Origin origin = new Origin(sink.file, doc.index(), doc.line());
        top.ignore("status");
        Fields spec = top.obj("spec");
        if (spec == null) {
            if (!top.has("spec")
                    && !kind.equals("AuthorizationPolicy")
                    && !kind.equals("PeerAuthentication")) {
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
        Resource r =
                switch (kind) {
                    case "Gateway" -> gateway(spec, md, origin);
                    case "VirtualService" -> virtualService(spec, md, origin);
                    case "DestinationRule" -> destinationRule(spec, md, origin);
                    case "ServiceEntry" -> serviceEntry(spec, md, origin);
                    case "WorkloadEntry" -> workloadEntry(spec, md, origin);
                    case "PeerAuthentication" -> peerAuthentication(spec, md, origin);
                    case "AuthorizationPolicy" -> authorizationPolicy(spec, md, origin);
                    default -> null;
                };
        spec.finish();
        return md == null ? null : r;
    }

    /**
     * Istio's {@code checkDryRunAnnotation}: {@code istio.io/dry-run} only on an ALLOW or DENY
     * AuthorizationPolicy, with a boolean value. Mithril has no shadow mode, so a dry-run policy
     * would be enforced: {@code "true"} is refused rather than applied.
     */
    private static void dryRun(Fields top, YamlDocuments.Document doc, String kind) {
        if (!(doc.root() instanceof YNode.YMap root)
                || !(root.entries().get("metadata") instanceof YNode.YMap md)
                || !(md.entries().get("annotations") instanceof YNode.YMap ann)
                || !(ann.entries().get("istio.io/dry-run") instanceof YScalar v)) {
            return;
        }
        String at = "metadata.annotations.istio.io/dry-run";
        int line = ann.keyLines().getOrDefault("istio.io/dry-run", ann.line());
        if (!kind.equals("AuthorizationPolicy")) {
            top.sink.error(
                    line,
                    at,
                    "unsupported annotation istio.io/dry-run, please remove the annotation");
            return;
        }
        String action =
                root.entries().get("spec") instanceof YNode.YMap spec
                                && spec.entries().get("action") instanceof YScalar a
                        ? a.text()
                        : "ALLOW";
        if (!"ALLOW".equals(action) && !"DENY".equals(action)) {
            top.sink.error(
                    line,
                    at,
                    "the annotation istio.io/dry-run currently only supports action ALLOW/DENY, found action "
                            + action);
            return;
        }
        String text = v.text() == null ? "" : v.text();
        Boolean b =
                switch (text) {
                    case "1", "t", "T", "TRUE", "true", "True" -> true;
                    case "0", "f", "F", "FALSE", "false", "False" -> false;
                    default -> null;
                };
        if (b == null) {
            top.sink.error(
                    line, at, "annotation istio.io/dry-run with invalid value (" + text + ")");
        } else if (b) {
            top.sink.error(
                    line,
                    at,
                    "istio.io/dry-run: \"true\" is not supported by Mithril (it has no shadow mode, so the"
                            + " policy would be enforced); remove the policy or the annotation");
        }
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
        m.ignore(
                "annotations",
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "generateName",
                "managedFields",
                "ownerReferences",
                "finalizers");
        m.finish();
        if (name != null && (name.length() > 253 || !DNS1123_SUBDOMAIN.matcher(name).matches())) {
            m.error(
                    "name",
                    "invalid name \""
                            + name
                            + "\": use lowercase letters, digits, '-' and '.' (RFC 1123)");
        }
        if (ns != null && (ns.length() > 63 || !DNS1123_LABEL.matcher(ns).matches())) {
            m.error(
                    "namespace",
                    "invalid namespace \""
                            + ns
                            + "\": use lowercase letters, digits and '-' (RFC 1123 label)");
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
            return "invalid host \""
                    + host
                    + "\": a wildcard must be the whole first label (\"*.example.com\")";
        }
        if (host.startsWith("*")) {
            if (!wildcardAllowed) {
                return "wildcard host \"" + host + "\" is not allowed here";
            }
            if (!host.startsWith("*.")) {
                return "invalid host \""
                        + host
                        + "\": a wildcard must be the whole first label (\"*.example.com\")";
            }
            rest = host.substring(2);
        }
        if (rest.length() > 253) {
            return "invalid host \"" + host + "\": longer than 253 characters";
        }
        for (String label : rest.split("\\.", -1)) {
            if (label.isEmpty()
                    || label.length() > 63
                    || !DNS_LABEL_ANY_CASE.matcher(label).matches()) {
                return "invalid host \""
                        + host
                        + "\": \""
                        + label
                        + "\" is not a DNS label (letters, digits, '-')";
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
                f.sink.error(f.lineOf(key), f.columnOf(key), f.at(key) + "[" + i + "]", why);
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
            if (s.port().name() != null
                    && !s.port().name().isEmpty()
                    && !portNames.add(s.port().name() + "/" + s.port().number())) {
                spec.sink.error(
                        spec.lineOf("servers"),
                        spec.columnOf("servers"),
                        spec.at("servers") + "[" + i + "].port.name",
                        "port name \""
                                + s.port().name()
                                + "\" is used twice for port "
                                + s.port().number());
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
                pf.error(
                        "protocol",
                        "unknown protocol \""
                                + protocol
                                + "\" (want one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS)");
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
            if (ns != null
                    && !ns.equals("*")
                    && !ns.equals(".")
                    && !ns.equals("~")
                    && !DNS1123_LABEL.matcher(ns).matches()) {
                why = "invalid namespace \"" + ns + "\" in host \"" + h + "\"";
            } else {
                why = checkHost(host, true);
            }
            if (why != null) {
                f.sink.error(
                        f.lineOf("hosts"), f.columnOf("hosts"), f.at("hosts") + "[" + i + "]", why);
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
            if (tlsProtocol
                    && (tls == null || tls.mode() == null)
                    && !(tls != null && tls.httpsRedirect())) {
                f.sink.error(
                        f.lineOf("port"),
                        f.columnOf("port"),
                        f.at("tls"),
                        "server must have TLS settings for " + port.protocol() + " (set tls.mode)");
            }
            if (!tlsProtocol && tls != null && tls.mode() != null && !tls.httpsRedirect()) {
                f.sink.error(
                        f.lineOf("tls"),
                        f.columnOf("tls"),
                        f.at("tls.mode"),
                        "TLS mode "
                                + tls.mode()
                                + " is only valid with protocol HTTPS or TLS, not "
                                + port.protocol());
            }
            if (tls != null
                    && tls.mode() == Gateway.TlsMode.PASSTHROUGH
                    && port.protocol().equals("HTTPS")) {
                f.sink.error(
                        f.lineOf("tls"),
                        f.columnOf("tls"),
                        f.at("tls.mode"),
                        "PASSTHROUGH needs protocol TLS: an HTTPS server terminates TLS");
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
            if (val != null
                    && !Set.of("TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3")
                            .contains(val)) {
                t.error(
                        v,
                        "unknown TLS version \"" + val + "\" (want TLS_AUTO, TLSV1_2 or TLSV1_3)");
            }
        }
        if (mode == Gateway.TlsMode.SIMPLE
                || mode == Gateway.TlsMode.MUTUAL
                || mode == Gateway.TlsMode.OPTIONAL_MUTUAL) {
            if (credential == null && (cert == null || key == null)) {
                t.error(
                        "mode",
                        mode + " mode needs serverCertificate and privateKey (or credentialName)");
            }
            if (mode != Gateway.TlsMode.SIMPLE && credential == null && ca == null) {
                t.error(
                        "mode",
                        mode + " mode needs caCertificates (or credentialName) to verify clients");
            }
        }
        if (mode == Gateway.TlsMode.ISTIO_MUTUAL
                && (cert != null || key != null || ca != null || credential != null)) {
            t.error(
                    "mode",
                    "ISTIO_MUTUAL uses the proxy's SVID and the mesh bundle: remove serverCertificate, privateKey, caCertificates and credentialName");
        }
        return new Gateway.ServerTls(
                redirect, mode, cert, key, ca, credential, sans, min, max, ciphers);
    }

    // ----- VirtualService ----------------------------------------------------------------------

    private static VirtualService virtualService(Fields spec, Metadata md, Origin origin) {
        List<String> gateways = spec.strList("gateways");
        boolean meshBound = gateways.isEmpty() || gateways.contains("mesh");
        List<String> hosts = hosts(spec, "hosts", true, true);
        if (meshBound && hosts.contains("*")) {
            spec.error(
                    "hosts",
                    "wildcard host \"*\" is not allowed for a VirtualService bound to the mesh (sidecars); bind it to a gateway");
        }
        for (int i = 0; i < gateways.size(); i++) {
            String g = gateways.get(i);
            int slash = g.indexOf('/');
            String name = slash < 0 ? g : g.substring(slash + 1);
            String ns = slash < 0 ? null : g.substring(0, slash);
            if (!DNS1123_SUBDOMAIN.matcher(name).matches()
                    || ns != null && !DNS1123_LABEL.matcher(ns).matches()) {
                spec.sink.error(
                        spec.lineOf("gateways"),
                        spec.columnOf("gateways"),
                        spec.at("gateways") + "[" + i + "]",
                        "invalid gateway reference \""
                                + g
                                + "\" (write <name>, <namespace>/<name> or mesh)");
            }
        }
        List<HttpRoute> http = spec.objList("http", MeshYaml::httpRoute);
        List<String> exportTo = spec.strList("exportTo");
        spec.ignore("tcp", "tls", "delegate");
        if (spec.list("http").isEmpty()
                && !spec.has("tcp")
                && !spec.has("tls")
                && !spec.has("delegate")) {
            spec.sink.error(
                    spec.line(),
                    spec.at("http"),
                    "a VirtualService needs at least one http, tcp or tls route");
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
                rf.sink.error(
                        rf.line(),
                        rf.path,
                        "redirect must set at least one of uri, authority, port or scheme");
            }
            if (scheme != null && !scheme.equals("http") && !scheme.equals("https")) {
                rf.sink.error(
                        rf.line(),
                        rf.at("scheme"),
                        "scheme must be http or https, found \"" + scheme + "\"");
            }
            redirect =
                    new VirtualService.HttpRedirect(
                            uri, authority, port, scheme, code == null ? 301 : code);
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
            retries =
                    new VirtualService.HttpRetry(
                            attempts == null ? 0 : attempts,
                            perTry,
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
            cors =
                    new VirtualService.CorsPolicy(
                            origins,
                            cf.strList("allowMethods"),
                            cf.strList("allowHeaders"),
                            cf.strList("exposeHeaders"),
                            cf.duration("maxAge"),
                            cf.bool("allowCredentials"));
            cf.ignore("unmatchedPreflights");
            cf.finish();
        }
        int actions =
                (route.isEmpty() && f.list("route").isEmpty() ? 0 : 1)
                        + (rf == null ? 0 : 1)
                        + (df == null ? 0 : 1);
        if (actions == 0 && !f.has("delegate")) {
            f.sink.error(
                    f.line(),
                    f.path,
                    "an HTTP rule needs one of route, redirect or directResponse");
        } else if (actions > 1) {
            f.sink.error(
                    f.line(),
                    f.path,
                    "route, redirect and directResponse are exclusive: set only one");
        }
        if (rewrite != null && redirect != null) {
            f.sink.error(
                    f.lineOf("rewrite"),
                    f.columnOf("rewrite"),
                    f.at("rewrite"),
                    "rewrite may not be combined with redirect");
        }
        if (route.size() > 1 && route.stream().allMatch(d -> d.weight() == 0)) {
            f.sink.error(
                    f.lineOf("route"),
                    f.columnOf("route"),
                    f.at("route"),
                    "with several destinations, give each a weight (they are all 0)");
        }
        return new HttpRoute(
                name, match, route, redirect, direct, rewrite, timeout, retries, fault, headers,
                mirror, mirrorPct, cors);
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
        HeaderOperations ops =
                new HeaderOperations(
                        lower(f.strMap("set")),
                        lower(f.strMap("add")),
                        f.strList("remove").stream()
                                .map(s -> s.toLowerCase(java.util.Locale.ROOT))
                                .toList());
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
            f.error(
                    "method",
                    "unknown HTTP method \""
                            + e.value()
                            + "\" (methods are upper case: GET, POST, ...)");
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
        return new HttpMatchRequest(
                name,
                uri,
                scheme,
                method,
                authority,
                lowerKeys(headers),
                lowerKeys(without),
                query,
                port,
                ignoreUriCase,
                sourceLabels,
                gateways,
                sourceNamespace);
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
        f.objMap(
                        key,
                        sf -> {
                            StringMatch m = stringMatch(sf);
                            return m == null
                                    ? new StringMatch.Prefix("")
                                    : m; // {} means "present" in Istio
                        })
                .forEach(out::put);
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
                f.error(
                        "regex",
                        "invalid regular expression \"" + regex + "\": " + e.getDescription());
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
        String namespace = md == null ? "default" : md.namespace();
        String host = spec.reqStr("host");
        if (host != null) {
            spec.check("host", IstioRules.wildcardDomain(host));
        }
        TrafficPolicy policy = trafficPolicy(spec.obj("trafficPolicy"), namespace);
        List<DestinationRule.Subset> subsets =
                spec.objList(
                        "subsets",
                        sf -> {
                            String name = sf.str("name");
                            if (name == null || name.isEmpty()) {
                                sf.error("name", "subset name cannot be empty");
                            } else if (!IstioRules.isDns1123Label(name)) {
                                sf.error("name", "subset name is invalid: " + name);
                            }
                            Map<String, String> labels = sf.strMap("labels");
                            sf.check("labels", IstioRules.labels(labels));
                            TrafficPolicy tp = trafficPolicy(sf.obj("trafficPolicy"), namespace);
                            return name == null || name.isEmpty()
                                    ? null
                                    : new DestinationRule.Subset(name, labels, tp);
                        });
        Set<String> names = new HashSet<>();
        for (DestinationRule.Subset s : subsets) {
            if (!names.add(s.name())) {
                spec.error("subsets", "duplicate subset names: " + s.name());
            }
        }
        Map<String, String> selector = matchLabels(spec, "workloadSelector");
        if (selector != null) {
            spec.check("workloadSelector", IstioRules.workloadSelector(selector));
            if (selector.isEmpty()) {
                spec.warn("workloadSelector", "workload selector specified without labels");
            }
        }
        List<String> exportTo = spec.strList("exportTo");
        spec.check("exportTo", IstioRules.exportTo(namespace, exportTo, false, selector != null));
        return new DestinationRule(md, origin, host, policy, subsets, exportTo);
    }

    private static TrafficPolicy trafficPolicy(Fields f, String namespace) {
        if (f == null) {
            return null;
        }
        if (f.map.entries().isEmpty()) {
            f.sink.error(f.line(), f.path, "traffic policy must have at least one field");
        }
        if (f.has("tunnel") && f.has("proxyProtocol")) {
            f.error("tunnel", "tunnel and proxyProtocol must not be set together");
        }
        Fields od = f.obj("outlierDetection");
        TrafficPolicy p = policyParts(f, namespace, od != null);
        Fields tunnel = f.obj("tunnel");
        if (tunnel != null) {
            String protocol = tunnel.str("protocol");
            if (protocol != null
                    && !protocol.isEmpty()
                    && !protocol.equals("CONNECT")
                    && !protocol.equals("POST")) {
                tunnel.error("protocol", "tunnel protocol must be \"CONNECT\" or \"POST\"");
            }
            String target = tunnel.str("targetHost");
            if (target == null || IstioRules.fqdn(target) != null && !IstioRules.isIp(target)) {
                tunnel.error("targetHost", "tunnel target host must be valid FQDN or IP address");
            }
            Integer port = tunnel.integer("targetPort", 0, Integer.MAX_VALUE);
            tunnel.check("targetPort", validPort(port == null ? 0 : port));
            tunnel.finish();
        }
        Fields pp = f.obj("proxyProtocol");
        if (pp != null) {
            String version = pp.str("version");
            if (version != null && !version.equals("V1") && !version.equals("V2")) {
                pp.error("version", "unknown value \"" + version + "\" (want one of V1, V2)");
            }
            pp.finish();
        }
        Fields rb = f.obj("retryBudget");
        if (rb != null) {
            Fields pct = rb.obj("percent");
            if (pct != null) {
                pct.number("value", 0, 100);
                pct.finish();
            }
            rb.duration("budgetInterval");
            rb.integer("minRetryConcurrency", 0, Integer.MAX_VALUE);
            rb.finish();
        }
        // Port-level policies by port number; istiod applies the first one that names a port.
        Map<Integer, TrafficPolicy> portLevel = new LinkedHashMap<>();
        f.objList(
                "portLevelSettings",
                pl -> {
                    Integer n = null;
                    if (!pl.has("port")) {
                        pl.error("port", "portTrafficPolicy must have valid port");
                    } else {
                        Fields port = pl.obj("port");
                        if (port != null) {
                            n = port.integer("number", 0, Integer.MAX_VALUE);
                            port.check("number", validPort(n == null ? 0 : n));
                            port.finish();
                        }
                    }
                    if (Stream.of("outlierDetection", "connectionPool", "loadBalancer", "tls")
                            .noneMatch(pl.map.entries()::containsKey)) {
                        pl.sink.error(
                                pl.line(),
                                pl.path,
                                "port traffic policy must have at least one field");
                    }
                    TrafficPolicy parts = policyParts(pl, namespace, pl.has("outlierDetection"));
                    if (n != null && n > 0) {
                        portLevel.putIfAbsent(n, parts);
                    }
                    return null;
                });
        f.finish();
        return portLevel.isEmpty()
                ? p
                : new TrafficPolicy(
                        p.loadBalancer(),
                        p.connectionPool(),
                        p.outlierDetection(),
                        p.tls(),
                        portLevel);
    }

    /** The parts a traffic policy and its port-level settings share, with Istio's checks. */
    private static TrafficPolicy policyParts(Fields f, String namespace, boolean outlierGiven) {
        DestinationRule.LoadBalancer lb = null;
        Fields lf = f.obj("loadBalancer");
        if (lf != null) {
            DestinationRule.SimpleLb simple =
                    lf.enumValue("simple", DestinationRule.SimpleLb.class);
            loadBalancerChecks(lf, outlierGiven);
            lf.finish();
            lb =
                    new DestinationRule.LoadBalancer(
                            simple == null ? DestinationRule.SimpleLb.UNSPECIFIED : simple);
        }
        DestinationRule.ConnectionPool pool = null;
        Fields cf = f.obj("connectionPool");
        if (cf != null) {
            if (cf.map.entries().isEmpty()) {
                cf.sink.error(cf.line(), cf.path, "connection pool must have at least one field");
            }
            Integer maxConn = null;
            java.time.Duration connectTimeout = null;
            Fields tcp = cf.obj("tcp");
            if (tcp != null) {
                maxConn = zeroIsUnset(tcp.integer("maxConnections", 0, Integer.MAX_VALUE));
                connectTimeout = tcp.duration("connectTimeout");
                tcp.duration("maxConnectionDuration");
                String idle = tcp.str("idleTimeout");
                if (idle != null
                        && !(Fields.parseDuration(idle.trim()) != null
                                && Fields.parseDuration(idle.trim()).isZero())) {
                    tcp.ignore("idleTimeout");
                    tcp.duration("idleTimeout");
                }
                Fields ka = tcp.obj("tcpKeepalive");
                if (ka != null) {
                    ka.integer("probes", 0, Integer.MAX_VALUE);
                    ka.duration("time");
                    ka.duration("interval");
                    ka.finish();
                }
                tcp.finish();
            }
            Integer pending = null;
            Integer h2max = null;
            Integer perConn = null;
            Integer maxRetries = null;
            java.time.Duration idle = null;
            Fields http = cf.obj("http");
            if (http != null) {
                pending =
                        zeroIsUnset(http.integer("http1MaxPendingRequests", 0, Integer.MAX_VALUE));
                h2max = zeroIsUnset(http.integer("http2MaxRequests", 0, Integer.MAX_VALUE));
                perConn = http.integer("maxRequestsPerConnection", 0, Integer.MAX_VALUE);
                maxRetries = http.integer("maxRetries", 0, Integer.MAX_VALUE);
                idle = http.duration("idleTimeout");
                http.integer("maxConcurrentStreams", 0, Integer.MAX_VALUE);
                String upgrade = http.str("h2UpgradePolicy");
                if (upgrade != null
                        && !List.of("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE").contains(upgrade)) {
                    http.error(
                            "h2UpgradePolicy",
                            "unknown value \""
                                    + upgrade
                                    + "\" (want one of DEFAULT, DO_NOT_UPGRADE, UPGRADE)");
                }
                if ("UPGRADE".equals(upgrade)
                        && Boolean.TRUE.equals(http.bool("useClientProtocol"))) {
                    http.error(
                            "useClientProtocol",
                            "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
                }
                http.bool("useClientProtocol");
                Fields ka = http.obj("http2KeepAlive");
                if (ka != null) {
                    for (String k : List.of("interval", "timeout")) {
                        if (!ka.has(k)) {
                            ka.error(k, "http2 keepalive " + k + " is required");
                        }
                        ka.duration(k);
                    }
                    ka.finish();
                }
                http.finish();
            }
            cf.finish();
            pool =
                    new DestinationRule.ConnectionPool(
                            maxConn, connectTimeout, pending, h2max, perConn, maxRetries, idle);
        }
        DestinationRule.OutlierDetection od = null;
        Fields of = f.obj("outlierDetection");
        if (of != null) {
            Integer c5xx = of.integer("consecutive5xxErrors", 0, Integer.MAX_VALUE);
            Integer legacy = of.integer("consecutiveErrors", 0, Integer.MAX_VALUE);
            if (legacy != null && legacy != 0) {
                of.warn(
                        "consecutiveErrors",
                        "outlier detection consecutive errors is deprecated, use consecutiveGatewayErrors"
                                + " or consecutive5xxErrors instead");
            }
            Integer gw = of.integer("consecutiveGatewayErrors", 0, Integer.MAX_VALUE);
            var interval = of.duration("interval");
            var base = of.duration("baseEjectionTime");
            Integer maxPct = of.integer("maxEjectionPercent", 0, 100);
            of.integer("minHealthPercent", 0, 100);
            Boolean split = of.bool("splitExternalLocalOriginErrors");
            Integer localOrigin =
                    of.integer("consecutiveLocalOriginFailures", 0, Integer.MAX_VALUE);
            if (!Boolean.TRUE.equals(split) && localOrigin != null && localOrigin > 0) {
                of.error(
                        "consecutiveLocalOriginFailures",
                        "outlier detection consecutive local origin failures is specified,"
                                + " but split external local origin errors is set to false");
            }
            of.ignore("outlierDetectionHttpErrorCodes");
            of.finish();
            int errors = c5xx != null ? c5xx : legacy != null ? legacy : gw != null ? gw : 5;
            od =
                    new DestinationRule.OutlierDetection(
                            errors,
                            interval == null ? java.time.Duration.ofSeconds(10) : interval,
                            base == null ? java.time.Duration.ofSeconds(30) : base,
                            maxPct == null ? 10 : maxPct);
        }
        ClientTls tls = null;
        Fields tf = f.obj("tls");
        if (tf != null) {
            ClientTlsMode mode = tf.enumValue("mode", ClientTlsMode.class);
            String cert = tf.str("clientCertificate");
            String key = tf.str("privateKey");
            String ca = tf.str("caCertificates");
            String credential = tf.str("credentialName");
            String crl = tf.str("caCrl");
            boolean sansGiven = tf.has("subjectAltNames");
            List<String> sans = tf.strList("subjectAltNames");
            String sni = tf.str("sni");
            Boolean insecure = tf.bool("insecureSkipVerify");
            tf.finish();
            if (Boolean.TRUE.equals(insecure)
                    && mode == ClientTlsMode.SIMPLE
                    && (ca != null || credential != null || sansGiven)) {
                tf.error(
                        "insecureSkipVerify",
                        "cannot specify CaCertificates or CredentialName or SubjectAltNames when"
                                + " InsecureSkipVerify is set true");
            }
            if (Boolean.TRUE.equals(insecure)
                    && mode == ClientTlsMode.MUTUAL
                    && (ca != null || sansGiven)) {
                tf.error(
                        "insecureSkipVerify",
                        "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
            }
            if ((mode == ClientTlsMode.SIMPLE || mode == ClientTlsMode.MUTUAL)
                    && credential != null
                    && !credential.isEmpty()) {
                if (cert != null || ca != null || key != null || crl != null) {
                    tf.error(
                            "credentialName",
                            "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
                }
            } else if (mode == ClientTlsMode.MUTUAL && (cert == null || key == null)) {
                tf.sink.error(
                        tf.lineOf("mode"),
                        tf.columnOf("mode"),
                        tf.at("mode"),
                        (cert == null ? "client certificate" : "private key")
                                + " required for mutual tls (clientCertificate and privateKey, or credentialName)");
            }
            if (mode == ClientTlsMode.ISTIO_MUTUAL
                    && (cert != null || key != null || ca != null || credential != null)) {
                tf.sink.error(
                        tf.lineOf("mode"),
                        tf.columnOf("mode"),
                        tf.at("mode"),
                        "ISTIO_MUTUAL uses the proxy's SVID and the mesh bundle: remove clientCertificate, privateKey, caCertificates and credentialName");
            }
            tls =
                    new ClientTls(
                            mode == null ? ClientTlsMode.DISABLE : mode,
                            cert,
                            key,
                            ca,
                            credential,
                            sans,
                            sni,
                            Boolean.TRUE.equals(insecure));
        }
        return new TrafficPolicy(lb, pool, od, tls);
    }

    /** Istio reads 0 as "not set" (Envoy's default) for these limits. */
    private static Integer zeroIsUnset(Integer v) {
        return v == null || v == 0 ? null : v;
    }

    /**
     * {@code validateLoadBalancer} and the locality checks; these settings are read, not applied
     * (docs/mesh.md).
     */
    private static void loadBalancerChecks(Fields lf, boolean outlierGiven) {
        Fields ch = lf.obj("consistentHash");
        if (ch != null) {
            ch.str("httpHeaderName");
            ch.str("httpQueryParameterName");
            ch.bool("useSourceIp");
            Fields cookie = ch.obj("httpCookie");
            if (cookie != null) {
                String name = cookie.str("name");
                if (name == null || name.isEmpty()) {
                    cookie.error("name", "name required for HttpCookie");
                }
                cookie.str("path");
                cookie.duration("ttl");
                Set<String> attrs = new HashSet<>();
                cookie.objList(
                        "attributes",
                        a -> {
                            String an = a.str("name");
                            a.str("value");
                            if (an == null || an.isEmpty()) {
                                a.error("name", "cookie attribute name cannot be empty");
                            } else if (!attrs.add(an)) {
                                a.error("name", "duplicate cookie attribute name: " + an);
                            }
                            return null;
                        });
                cookie.finish();
            }
            Integer ring = ch.integer("minimumRingSize", 0, Integer.MAX_VALUE);
            if (ring != null && ring != 0) {
                ch.warn(
                        "minimumRingSize",
                        "consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash"
                                + " configuration instead");
                if (ch.has("maglev") || ch.has("ringHash")) {
                    ch.error(
                            "minimumRingSize",
                            "only one of MinimumRingSize or Maglev/Ringhash can be specified");
                }
            }
            Fields rh = ch.obj("ringHash");
            if (rh != null) {
                rh.integer("minimumRingSize", 0, Integer.MAX_VALUE);
                rh.finish();
            }
            Fields ml = ch.obj("maglev");
            if (ml != null) {
                Integer size = ml.integer("tableSize", 0, Integer.MAX_VALUE);
                long n = size == null ? 0 : size;
                if (n == 0) {
                    ml.error("tableSize", "tableSize must be set for maglev");
                }
                if (n >= 5000011) {
                    ml.error("tableSize", "tableSize must be less than 5000011 for maglev");
                }
                if (!IstioRules.isPrime(n)) {
                    ml.error("tableSize", "tableSize must be a prime number for maglev");
                }
                ml.finish();
            }
            ch.finish();
        }
        if (lf.has("localityLbSetting") && lf.has("zoneAwareLbSetting")) {
            lf.error(
                    "zoneAwareLbSetting",
                    "only one of localityLbSetting and zoneAwareLbSetting can be set");
        }
        for (String k : List.of("localityLbSetting", "zoneAwareLbSetting")) {
            Fields loc = lf.obj(k);
            if (loc == null) {
                continue;
            }
            loc.bool("enabled");
            loc.integer("minClusterSize", 0, Integer.MAX_VALUE);
            List<String> priority = loc.strList("failoverPriority");
            boolean distribute = !loc.list("distribute").isEmpty();
            boolean failover = !loc.list("failover").isEmpty();
            if (distribute && failover) {
                loc.error(
                        "distribute", "can not simultaneously specify 'distribute' and 'failover'");
            }
            if (failover
                    && priority.stream().anyMatch(pr -> pr.startsWith("topology.kubernetes.io/"))) {
                loc.error(
                        "failoverPriority",
                        "can not simultaneously set 'failover' and a topology label in 'failover_priority'");
            }
            if ((failover || !priority.isEmpty()) && !outlierGiven) {
                loc.warn("failover", "outlier detection policy must be provided for failover");
            }
            loc.objList(
                    "distribute",
                    d -> {
                        d.str("from");
                        Fields to = d.obj("to");
                        if (to != null) {
                            long total = 0;
                            for (String l : to.map.entries().keySet()) {
                                Integer w = to.integer(l, 1, 100);
                                total += w == null ? 0 : w;
                            }
                            if (total != 100) {
                                d.error("to", "total locality weight " + total + " != 100");
                            }
                            to.finish();
                        }
                        return null;
                    });
            loc.objList(
                    "failover",
                    fo -> {
                        String from = fo.str("from");
                        String to = fo.str("to");
                        if (from != null && from.equals(to)) {
                            fo.error(
                                    "to",
                                    "locality lb failover settings must specify different regions");
                        }
                        if (from != null && from.contains("/") || to != null && to.contains("/")) {
                            fo.error("to", "locality lb failover only specify region");
                        }
                        if (from != null && from.contains("*") || to != null && to.contains("*")) {
                            fo.error(
                                    "to",
                                    "locality lb failover region should not contain '*' wildcard");
                        }
                        return null;
                    });
            loc.finish();
        }
        Fields warm = lf.obj("warmup");
        if (warm != null) {
            if (!warm.has("duration")) {
                warm.error("duration", "duration is required");
            }
            warm.duration("duration");
            Fields min = warm.obj("minimumPercent");
            if (min != null) {
                Double v = min.number("value", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
                if (v != null && v > 100) {
                    min.error("value", "minimumPercent value should be less than or equal to 100");
                }
                min.finish();
            }
            Fields aggr = warm.obj("aggression");
            if (aggr != null) {
                Double v = aggr.number("value", Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY);
                if (v == null || v <= 0) {
                    aggr.error("value", "aggression should be greater than 0");
                }
                aggr.finish();
            }
            warm.finish();
        }
        lf.duration("warmupDurationSecs");
        lf.ignore("backendUtilization");
    }

    // ----- ServiceEntry / WorkloadEntry --------------------------------------------------------

    private static ServiceEntry serviceEntry(Fields spec, Metadata md, Origin origin) {
        ServiceEntry.Resolution resolution = null;
        String resolutionText = spec.str("resolution");
        if ("DYNAMIC_DNS".equals(resolutionText)) {
            spec.error(
                    "resolution",
                    "resolution DYNAMIC_DNS (dynamic forward proxy, Istio 1.29) is not supported by Mithril;"
                            + " use DNS with the hosts listed");
        } else {
            resolution = spec.enumValue("resolution", ServiceEntry.Resolution.class);
        }
        if (resolution == null) {
            resolution = ServiceEntry.Resolution.NONE;
        }
        final ServiceEntry.Resolution res = resolution;
        List<String> hosts = spec.strList("hosts");
        if (hosts.isEmpty()) {
            spec.error("hosts", "service entry must have at least one host");
        }
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i);
            String at = spec.at("hosts") + "[" + i + "]";
            if (h.equals("*")) {
                spec.sink.error(
                        spec.lineOf("hosts"),
                        spec.columnOf("hosts"),
                        at,
                        "invalid host * (a ServiceEntry cannot declare every host)");
                continue;
            }
            String why = IstioRules.wildcardDomain(h);
            if (why != null) {
                spec.sink.error(spec.lineOf("hosts"), spec.columnOf("hosts"), at, why);
            }
            String partial = IstioRules.partialWildcard(h);
            if (partial != null) {
                spec.sink.warn(spec.lineOf("hosts"), spec.columnOf("hosts"), at, partial);
            }
        }
        List<String> addresses = spec.strList("addresses");
        boolean cidr = false;
        for (String a : addresses) {
            cidr |= a.contains("/");
            spec.check("addresses", IstioRules.ipSubnet(a));
        }
        if (cidr && res != ServiceEntry.Resolution.NONE && res != ServiceEntry.Resolution.STATIC) {
            spec.error(
                    "addresses",
                    "CIDR addresses are allowed only for NONE/STATIC resolution types");
        }
        Map<String, String> rawProtocols = new LinkedHashMap<>();
        List<ServiceEntry.ServicePort> ports =
                spec.objList(
                        "ports",
                        pf -> {
                            Integer number = pf.integer("number", 0, Integer.MAX_VALUE);
                            String protocol = pf.str("protocol");
                            String name = pf.str("name");
                            Integer target = pf.integer("targetPort", 0, Integer.MAX_VALUE);
                            if (number != null || !pf.has("number")) {
                                pf.check("number", validPort(number == null ? 0 : number));
                            }
                            if (target != null && target != 0) {
                                pf.check("targetPort", validPort(target));
                            }
                            pf.check("name", IstioRules.portName(name == null ? "" : name));
                            pf.check("protocol", IstioRules.protocol(protocol));
                            if (number == null || number < 1 || number > 65535) {
                                return null;
                            }
                            rawProtocols.put(pf.path, protocol == null ? "" : protocol);
                            return new ServiceEntry.ServicePort(
                                    number,
                                    protocol == null || protocol.isEmpty()
                                            ? "TCP"
                                            : protocol.toUpperCase(),
                                    name == null ? "" : name,
                                    target == null || target == 0 ? null : target);
                        });
        Set<Integer> numbers = new HashSet<>();
        Set<String> portNames = new HashSet<>();
        for (ServiceEntry.ServicePort p : ports) {
            if (!portNames.add(p.name())) {
                spec.error("ports", "service entry port name \"" + p.name() + "\" already defined");
            }
            if (!numbers.add(p.number())) {
                spec.error("ports", "service entry port " + p.number() + " already defined");
            }
        }
        if (addresses.isEmpty()
                && rawProtocols.values().stream()
                        .anyMatch(pr -> pr.isEmpty() || pr.equals("TCP"))) {
            spec.warn(
                    "ports",
                    "addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled");
        }
        ServiceEntry.Location location = spec.enumValue("location", ServiceEntry.Location.class);
        boolean endpointsGiven = spec.has("endpoints");
        List<WorkloadEntry.Endpoint> endpoints =
                spec.objList(
                        "endpoints",
                        ef ->
                                switch (res) {
                                    case STATIC -> endpoint(ef, portNames, false, true);
                                    case DNS, DNS_ROUND_ROBIN ->
                                            endpoint(ef, portNames, true, false);
                                    case NONE -> endpoint(ef, null, true, true);
                                });
        Map<String, String> selector = null;
        Fields ws = spec.obj("workloadSelector");
        if (ws != null) {
            selector = ws.strMap("labels");
            ws.check("labels", IstioRules.workloadSelector(selector));
            if (selector.isEmpty()) {
                spec.warn(
                        "workloadSelector",
                        "service entry: workload selector specified without labels, will be applied to all"
                                + " services in namespace");
            }
            ws.finish();
        }
        if (selector != null && endpointsGiven) {
            spec.error(
                    "workloadSelector",
                    "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
        }
        switch (res) {
            case NONE -> {
                if (!endpoints.isEmpty()) {
                    spec.error(
                            "endpoints",
                            "no endpoints should be provided for resolution type none");
                }
                if (selector != null) {
                    spec.warn(
                            "workloadSelector",
                            "workloadSelector should not be set when resolution mode is NONE");
                }
            }
            case STATIC -> {
                if (endpoints.stream().anyMatch(e -> e.address().startsWith("unix://"))
                        && ports.size() != 1) {
                    spec.error("endpoints", "exactly 1 service port required for unix endpoints");
                }
            }
            case DNS, DNS_ROUND_ROBIN -> {
                if (!endpointsGiven) {
                    for (String h : hosts) {
                        String why = IstioRules.fqdn(h);
                        if (why != null) {
                            spec.error(
                                    "hosts",
                                    "hosts must be FQDN or contain only prefix wildcards if no endpoints are provided"
                                            + " for resolution mode "
                                            + res
                                            + ", "
                                            + why);
                            break;
                        }
                    }
                }
                if (res == ServiceEntry.Resolution.DNS_ROUND_ROBIN && endpoints.size() > 1) {
                    spec.error(
                            "endpoints",
                            "there must only be 0 or 1 endpoint for resolution mode DNS_ROUND_ROBIN");
                }
                if (!addresses.isEmpty()
                        && hosts.size() > 1
                        && rawProtocols.values().stream().anyMatch(IstioRules::isTcp)) {
                    spec.warn(
                            "hosts",
                            "service entry can not have more than one host specified simultaneously with address"
                                    + " and tcp port");
                }
            }
            default -> throw new IllegalStateException(res.name());
        }
        if (res != ServiceEntry.Resolution.NONE
                && hosts.size() > 1
                && rawProtocols.values().stream()
                        .anyMatch(pr -> !IstioRules.isHttp(pr) && !IstioRules.isTls(pr))) {
            spec.error("hosts", "multiple hosts provided with non-HTTP, non-TLS ports");
        }
        List<String> sans = spec.strList("subjectAltNames");
        List<String> exportTo = spec.strList("exportTo");
        spec.check(
                "exportTo",
                IstioRules.exportTo(
                        md == null ? "default" : md.namespace(), exportTo, true, false));
        return new ServiceEntry(
                md,
                origin,
                hosts,
                addresses,
                ports,
                location == null ? ServiceEntry.Location.MESH_EXTERNAL : location,
                resolution,
                endpoints,
                selector,
                sans,
                exportTo);
    }

    private static WorkloadEntry workloadEntry(Fields spec, Metadata md, Origin origin) {
        WorkloadEntry.Endpoint e = endpoint(spec, null, true, true);
        return e == null ? null : new WorkloadEntry(md, origin, e);
    }

    /** {@code agent.ValidatePort}. */
    private static String validPort(int port) {
        return port >= 1 && port <= 65535
                ? null
                : "port number " + port + " must be in the range 1..65535";
    }

    /**
     * A WorkloadEntry spec or a ServiceEntry endpoint, checked as Istio's {@code
     * validateWorkloadEntry} does: an address (or a network), {@code unix://} absolute paths
     * without ports, IP addresses, and host names where {@code allowFqdn}; port names that the
     * ServiceEntry declares ({@code servicePorts}, null for a WorkloadEntry); Kubernetes labels.
     * {@code unixAllowed} false (DNS resolution) refuses {@code unix://} addresses as host names.
     */
    private static WorkloadEntry.Endpoint endpoint(
            Fields f, Set<String> servicePorts, boolean allowFqdn, boolean unixAllowed) {
        String address = f.str("address");
        String network = f.str("network");
        if (address == null || address.isEmpty()) {
            if (network == null || network.isEmpty()) {
                f.error("address", "address is required");
                return null;
            }
            f.warn("address", "address is unset with network \"" + network + "\"");
            address = "";
        }
        Map<String, Integer> ports = new LinkedHashMap<>();
        Fields pf = f.obj("ports");
        if (pf != null) {
            for (String k : pf.map.entries().keySet()) {
                Integer n = pf.integer(k, 0, Integer.MAX_VALUE);
                if (n != null) {
                    if (servicePorts != null && !servicePorts.contains(k)) {
                        pf.error(k, "endpoint port " + n + " is not defined by the service entry");
                    }
                    pf.check(k, IstioRules.portName(k));
                    pf.check(k, validPort(n));
                    ports.put(k, n);
                }
            }
            pf.finish();
        }
        if (address.startsWith("unix://") && unixAllowed) {
            f.check("address", IstioRules.unixAddress(address.substring("unix://".length())));
            if (!ports.isEmpty()) {
                f.error("ports", "unix endpoint " + address + " must not include ports");
            }
        } else if (!address.isEmpty() && !IstioRules.isIp(address)) {
            if (!allowFqdn) {
                f.error(
                        "address",
                        "endpoint address \"" + address + "\" is not a valid IP address");
            } else if (IstioRules.fqdn(address) != null) {
                f.error(
                        "address",
                        "endpoint address \""
                                + address
                                + "\" is not a valid FQDN or an IP address");
            }
        }
        Map<String, String> labels = f.strMap("labels");
        f.check("labels", IstioRules.labels(labels));
        String locality = f.str("locality");
        Integer weight = f.integer("weight", 0, Integer.MAX_VALUE);
        String sa = f.str("serviceAccount");
        return new WorkloadEntry.Endpoint(
                address, ports, labels, network, locality, weight == null ? 0 : weight, sa);
    }

    /**
     * Whether {@code s} is an IPv4 or IPv6 literal, as Go's {@code netip.ParseAddr} reads one (no
     * brackets, no leading zeros, a zone allowed), checked without resolving anything. The one IP
     * literal check of the mesh and the control plane.
     */
    public static boolean isIpAddress(String s) {
        return IstioRules.isIp(s);
    }

    /** The {@code when} keys the proxies' RBAC evaluates (and the xDS translation carries). */
    static boolean evaluated(String key) {
        return switch (key) {
            case "source.principal",
                    "source.namespace",
                    "source.ip",
                    "remote.ip",
                    "destination.port" ->
                    true;
            default -> key.startsWith("request.headers[") && key.endsWith("]");
        };
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
        spec.objMap("portLevelMtls", pf -> pf.enumValue("mode", PeerAuthentication.Mode.class))
                .forEach(
                        (k, v) -> {
                            try {
                                int port = Integer.parseInt(k);
                                if (port < 1 || port > 65535) {
                                    throw new NumberFormatException();
                                }
                                ports.put(port, v);
                            } catch (NumberFormatException e) {
                                spec.error(
                                        "portLevelMtls",
                                        "port \"" + k + "\" is not a port number (1-65535)");
                            }
                        });
        if (!ports.isEmpty() && (selector == null || selector.isEmpty())) {
            spec.error("portLevelMtls", "portLevelMtls requires a workload selector");
        }
        return new PeerAuthentication(md, origin, selector, mode, ports);
    }

    private static AuthorizationPolicy authorizationPolicy(
            Fields spec, Metadata md, Origin origin) {
        String namespace = md == null ? "default" : md.namespace();
        Map<String, String> selector = matchLabels(spec, "selector");
        if (selector != null) {
            spec.check("selector", IstioRules.workloadSelector(selector));
            if (selector.isEmpty()) {
                spec.warn("selector", "workload selector specified without labels");
            }
        }
        boolean targetRefGiven = spec.has("targetRef");
        boolean targetRefsGiven = !spec.list("targetRefs").isEmpty();
        if ((selector != null ? 1 : 0) + (targetRefGiven ? 1 : 0) + (targetRefsGiven ? 1 : 0) > 1) {
            spec.error("selector", "only one of targetRefs or workloadSelector can be set");
        }
        int refErrors = spec.sink.errors.size();
        if (targetRefGiven) {
            targetRef(spec.obj("targetRef"));
        }
        spec.objList("targetRefs", MeshYaml::targetRef);
        if ((targetRefGiven || targetRefsGiven) && spec.sink.errors.size() == refErrors) {
            spec.error(
                    targetRefGiven ? "targetRef" : "targetRefs",
                    "targetRef (attaching a policy to a Gateway, Service or"
                            + " ServiceEntry, for waypoints and Gateway API gateways) is not supported by Mithril; use selector");
        }
        AuthorizationPolicy.Action action =
                spec.enumValue("action", AuthorizationPolicy.Action.class);
        if (action == AuthorizationPolicy.Action.CUSTOM) {
            spec.error(
                    "action",
                    "CUSTOM (external authorization) is not supported by Mithril; use ALLOW or DENY");
        }
        Fields provider = spec.obj("provider");
        if (provider != null) {
            provider.str("name");
            provider.finish();
            if (action != AuthorizationPolicy.Action.CUSTOM) {
                spec.error(
                        "provider",
                        "`provider` must not be with non CUSTOM action, found "
                                + (action == null ? "ALLOW" : action));
            }
        }
        boolean rulesGiven =
                spec.has("rules") || spec.map.entries().get("rules") instanceof YNode.YList;
        if (action == AuthorizationPolicy.Action.DENY && !rulesGiven) {
            spec.error(
                    "action",
                    "DENY action without `rules` is meaningless as it will never be triggered, add an empty rule"
                            + " `{}` if you want it be triggered for every request");
        }
        List<AuthorizationPolicy.Rule> rules =
                spec.objList(
                        "rules",
                        rf -> {
                            if (rf.map.entries().get("from") instanceof YNode.YList l
                                    && l.items().isEmpty()) {
                                rf.error("from", "`from` must not be empty");
                            }
                            if (rf.map.entries().get("to") instanceof YNode.YList l
                                    && l.items().isEmpty()) {
                                rf.error("to", "`to` must not be empty");
                            }
                            List<AuthorizationPolicy.Source> from =
                                    rf.objList(
                                            "from",
                                            ff -> {
                                                Fields s = ff.obj("source");
                                                if (s == null) {
                                                    ff.error(
                                                            "source",
                                                            "`from.source` must not be nil");
                                                    return null;
                                                }
                                                return source(s, namespace);
                                            });
                            List<AuthorizationPolicy.Operation> to =
                                    rf.objList(
                                            "to",
                                            tf -> {
                                                Fields o = tf.obj("operation");
                                                if (o == null) {
                                                    tf.error(
                                                            "operation",
                                                            "`to.operation` must not be nil");
                                                    return null;
                                                }
                                                return operation(o);
                                            });
                            List<AuthorizationPolicy.Condition> when =
                                    rf.objList(
                                            "when",
                                            wf -> {
                                                String key = wf.str("key");
                                                List<String> values = wf.strList("values");
                                                List<String> notValues = wf.strList("notValues");
                                                if (key == null || key.isEmpty()) {
                                                    wf.error("key", "`key` must not be empty");
                                                    return null;
                                                }
                                                if (values.isEmpty() && notValues.isEmpty()) {
                                                    wf.sink.error(
                                                            wf.line(),
                                                            wf.path,
                                                            "at least one of `values` or `notValues` must be set for key "
                                                                    + key);
                                                } else {
                                                    String bad = IstioRules.attribute(key, values);
                                                    wf.check(
                                                            "values",
                                                            bad == null
                                                                    ? null
                                                                    : "invalid `value` for `key` "
                                                                            + key
                                                                            + ": "
                                                                            + bad);
                                                    String badNot =
                                                            IstioRules.attribute(key, notValues);
                                                    wf.check(
                                                            "notValues",
                                                            badNot == null
                                                                    ? null
                                                                    : "invalid `notValue` for `key` "
                                                                            + key
                                                                            + ": "
                                                                            + badNot);
                                                    if (bad == null
                                                            && badNot == null
                                                            && !evaluated(key)) {
                                                        // Valid Istio, but the proxies would never
                                                        // match it: a DENY rule would not deny.
                                                        wf.error(
                                                                "key",
                                                                "condition key "
                                                                        + key
                                                                        + " is not implemented by Mithril (a rule using it would "
                                                                        + "never match); use source.principal, source.namespace, source.ip, remote.ip, "
                                                                        + "destination.port or request.headers[...]");
                                                    }
                                                }
                                                return new AuthorizationPolicy.Condition(
                                                        key, values, notValues);
                                            });
                            if (action == AuthorizationPolicy.Action.DENY && httpOnlyDenyRule(rf)) {
                                rf.sink.warn(
                                        rf.line(),
                                        rf.path,
                                        "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope"
                                                + " due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port");
                            }
                            return new AuthorizationPolicy.Rule(from, to, when);
                        });
        return new AuthorizationPolicy(
                md,
                origin,
                selector,
                action == null ? AuthorizationPolicy.Action.ALLOW : action,
                rules,
                rulesGiven);
    }

    /** {@code validatePolicyTargetReference}. */
    private static Object targetRef(Fields r) {
        if (r == null) {
            return null;
        }
        String group = r.str("group");
        String kind = r.str("kind");
        String name = r.str("name");
        String ns = r.str("namespace");
        r.finish();
        if (name == null || name.isEmpty()) {
            r.error("name", "targetRef name must be set");
        }
        if (ns != null && !ns.isEmpty()) {
            r.error(
                    "namespace",
                    "targetRef namespace must not be set; cross namespace referencing is not supported");
        }
        String g = group == null || group.isEmpty() ? "core" : group;
        String target = g + "/" + kind;
        if (!List.of(
                        "core/Service",
                        "networking.istio.io/ServiceEntry",
                        "gateway.networking.k8s.io/Gateway",
                        "gateway.networking.k8s.io/GatewayClass")
                .contains(target)) {
            r.error(
                    "kind",
                    "targetRef must be to one of Service, ServiceEntry, Gateway, GatewayClass but was "
                            + (group == null ? "" : group)
                            + "/"
                            + kind);
        }
        return null;
    }

    /**
     * Istio's warning: a DENY rule whose {@code from} has only HTTP attributes (request principals)
     * or whose {@code to} has no ports denies all TCP traffic in scope.
     */
    private static boolean httpOnlyDenyRule(Fields rule) {
        boolean fromExists = false;
        boolean tcpInFrom = false;
        for (YNode n :
                rule.map.entries().get("from") instanceof YNode.YList l
                        ? l.items()
                        : List.<YNode>of()) {
            if (n instanceof YNode.YMap m && m.entries().get("source") instanceof YNode.YMap src) {
                fromExists = true;
                tcpInFrom |=
                        src.entries().keySet().stream()
                                .anyMatch(
                                        k ->
                                                !k.equals("requestPrincipals")
                                                        && !k.equals("notRequestPrincipals")
                                                        && !k.equals("trustDomains")
                                                        && !k.equals("notTrustDomains"));
            }
        }
        boolean toExists = false;
        boolean tcpInTo = false;
        for (YNode n :
                rule.map.entries().get("to") instanceof YNode.YList l
                        ? l.items()
                        : List.<YNode>of()) {
            if (n instanceof YNode.YMap m
                    && m.entries().get("operation") instanceof YNode.YMap op) {
                toExists = true;
                tcpInTo |=
                        op.entries().containsKey("ports") || op.entries().containsKey("notPorts");
            }
        }
        return fromExists && !toExists && !tcpInFrom || toExists && !tcpInTo;
    }

    private static final List<String> SOURCE_FIELDS =
            List.of(
                    "principals",
                    "notPrincipals",
                    "requestPrincipals",
                    "notRequestPrincipals",
                    "namespaces",
                    "notNamespaces",
                    "ipBlocks",
                    "notIpBlocks",
                    "remoteIpBlocks",
                    "notRemoteIpBlocks",
                    "serviceAccounts",
                    "notServiceAccounts",
                    "trustDomains",
                    "notTrustDomains");

    /**
     * {@code from[].source}, with Istio's checks. {@code serviceAccounts} ({@code sa} or {@code
     * ns/sa}) are kept as {@code ns/sa} and matched as istiod matches them ({@link
     * ServiceAccounts}); {@code trustDomains} become principals {@code <td>/*}, where that keeps
     * Istio's meaning (see docs/mesh.md).
     */
    private static AuthorizationPolicy.Source source(Fields s, String namespace) {
        Map<String, List<String>> v = new LinkedHashMap<>();
        for (String k : SOURCE_FIELDS) {
            v.put(k, s.strList(k));
        }
        if (v.values().stream().allMatch(List::isEmpty)) {
            s.sink.error(s.line(), s.path, "`from.source` must not be empty");
        }
        int principalish =
                v.get("principals").size()
                        + v.get("notPrincipals").size()
                        + v.get("namespaces").size()
                        + v.get("notNamespaces").size();
        int sas = v.get("serviceAccounts").size() + v.get("notServiceAccounts").size();
        if (principalish > 0 && sas > 0) {
            s.error("serviceAccounts", "cannot set serviceAccounts with namespaces or principals");
        }
        for (String k :
                List.of(
                        "principals",
                        "requestPrincipals",
                        "namespaces",
                        "ipBlocks",
                        "remoteIpBlocks",
                        "notPrincipals",
                        "notRequestPrincipals",
                        "notNamespaces",
                        "notIpBlocks",
                        "notRemoteIpBlocks")) {
            s.check(k, IstioRules.emptyValues(upperFirst(k), v.get(k)));
        }
        for (String k : List.of("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks")) {
            s.check(k, IstioRules.ips(v.get(k)));
        }
        s.check(
                "serviceAccounts",
                IstioRules.serviceAccounts("ServiceAccounts", v.get("serviceAccounts")));
        s.check(
                "notServiceAccounts",
                IstioRules.serviceAccounts("NotServiceAccounts", v.get("notServiceAccounts")));
        s.check(
                "trustDomains",
                IstioRules.trustDomainValues("TrustDomains", v.get("trustDomains")));
        s.check(
                "notTrustDomains",
                IstioRules.trustDomainValues("NotTrustDomains", v.get("notTrustDomains")));
        for (String k : List.of("principals", "notPrincipals")) {
            principals(s, k, v.get(k));
        }
        for (String k :
                List.of(
                        "requestPrincipals",
                        "notRequestPrincipals",
                        "remoteIpBlocks",
                        "notRemoteIpBlocks")) {
            if (!v.get(k).isEmpty()) {
                s.error(
                        k,
                        k
                                + " is not supported by Mithril ("
                                + (k.toLowerCase().contains("request")
                                        ? "JWT request authentication"
                                        : "remote addresses from X-Forwarded-For")
                                + " is not implemented)");
            }
        }
        List<String> principals = new ArrayList<>(v.get("principals"));
        List<String> notPrincipals = new ArrayList<>(v.get("notPrincipals"));
        List<String> serviceAccounts =
                v.get("serviceAccounts").stream()
                        .map(sa -> ServiceAccounts.qualified(namespace, sa))
                        .toList();
        List<String> notServiceAccounts =
                v.get("notServiceAccounts").stream()
                        .map(sa -> ServiceAccounts.qualified(namespace, sa))
                        .toList();
        for (String k : List.of("trustDomains", "notTrustDomains")) {
            List<String> tds = v.get(k);
            if (tds.isEmpty()) {
                continue;
            }
            if (!principals.isEmpty()
                    || !notPrincipals.isEmpty()
                    || sas > 0
                    || !v.get("namespaces").isEmpty()
                    || !v.get("notNamespaces").isEmpty()) {
                s.error(
                        k,
                        k
                                + " together with principals, serviceAccounts or namespaces in one source is not supported by"
                                + " Mithril; put them in separate rules or use principals \"<td>/ns/<ns>/sa/<sa>\"");
                continue;
            }
            for (String td : tds) {
                if (!td.equals("*") && td.contains("*")) {
                    s.error(
                            k,
                            "wildcard trust domain \""
                                    + td
                                    + "\" is not supported by Mithril; list the trust domains");
                }
            }
        }
        List<String> tdPrincipals =
                v.get("trustDomains").stream().map(td -> td.equals("*") ? "*" : td + "/*").toList();
        List<String> notTdPrincipals =
                v.get("notTrustDomains").stream()
                        .map(td -> td.equals("*") ? "*" : td + "/*")
                        .toList();
        if (principals.isEmpty()) {
            principals.addAll(tdPrincipals);
        }
        if (notPrincipals.isEmpty()) {
            notPrincipals.addAll(notTdPrincipals);
        }
        s.finish();
        return new AuthorizationPolicy.Source(
                principals,
                notPrincipals,
                v.get("namespaces"),
                v.get("notNamespaces"),
                v.get("ipBlocks"),
                v.get("notIpBlocks"),
                serviceAccounts,
                notServiceAccounts);
    }

    private static AuthorizationPolicy.Operation operation(Fields o) {
        Map<String, List<String>> v = new LinkedHashMap<>();
        for (String k :
                List.of(
                        "hosts",
                        "notHosts",
                        "ports",
                        "notPorts",
                        "methods",
                        "notMethods",
                        "paths",
                        "notPaths")) {
            v.put(k, o.strList(k));
            o.check(k, IstioRules.emptyValues(upperFirst(k), v.get(k)));
        }
        if (v.values().stream().allMatch(List::isEmpty)) {
            o.sink.error(o.line(), o.path, "`to.operation` must not be empty");
        }
        o.check("ports", IstioRules.ports(v.get("ports")));
        o.check("notPorts", IstioRules.ports(v.get("notPorts")));
        o.check("paths", IstioRules.pathTemplates("Paths", v.get("paths")));
        o.check("notPaths", IstioRules.pathTemplates("NotPaths", v.get("notPaths")));
        for (String k : List.of("paths", "notPaths")) {
            for (String p : v.get(k)) {
                if (!PathTemplate.isTemplate(p)) {
                    checkAuthzPattern(o, k, p);
                }
            }
        }
        o.finish();
        return new AuthorizationPolicy.Operation(
                v.get("hosts"),
                v.get("notHosts"),
                v.get("ports"),
                v.get("notPorts"),
                v.get("methods"),
                v.get("notMethods"),
                v.get("paths"),
                v.get("notPaths"));
    }

    private static String upperFirst(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private static void principals(Fields s, String key, List<String> ps) {
        for (String p : ps) {
            if (p.startsWith("spiffe://")) {
                s.error(
                        key,
                        "principal \""
                                + p
                                + "\" must be written without \"spiffe://\" (e.g. \""
                                + p.substring("spiffe://".length())
                                + "\")");
            }
            checkAuthzPattern(s, key, p);
        }
    }

    /** Istio allows "*" only as the whole value, a prefix or a suffix. */
    private static void checkAuthzPattern(Fields f, String key, String value) {
        String inner = value.length() > 2 ? value.substring(1, value.length() - 1) : "";
        if (inner.contains("*") || value.equals("**")) {
            f.error(
                    key,
                    "\""
                            + value
                            + "\": '*' is allowed only as a prefix, a suffix, or the whole value");
        }
    }
}
