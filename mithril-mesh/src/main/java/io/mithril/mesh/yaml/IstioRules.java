package io.mithril.mesh.yaml;

import io.mithril.mesh.model.PathTemplate;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's own validation rules, as {@code istioctl validate} applies them (Istio's {@code
 * pkg/config/validation/validation.go}, its {@code agent/} subpackage, {@code pkg/config/security}
 * and {@code pkg/config/labels}), written again in Java. Each method returns null when the value
 * passes, else the message; the callers place it (file, line, field).
 */
final class IstioRules {

    private IstioRules() {}

    private static final String DNS1123_LABEL_FMT = "[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?";
    private static final Pattern DNS1123_LABEL = Pattern.compile(DNS1123_LABEL_FMT);
    private static final Pattern WILDCARD_PREFIX =
            Pattern.compile("(\\*|(\\*|\\*-)?" + DNS1123_LABEL_FMT + ")");
    private static final String QUALIFIED_NAME_FMT = "(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    private static final Pattern TAG_KEY =
            Pattern.compile(
                    "("
                            + DNS1123_LABEL_FMT
                            + "(?:\\."
                            + DNS1123_LABEL_FMT
                            + ")*/)?("
                            + QUALIFIED_NAME_FMT
                            + ")");
    private static final Pattern LABEL_VALUE = Pattern.compile("(" + QUALIFIED_NAME_FMT + ")?");

    /** RFC 3986 pchar, as Istio checks path template literals. */

    /** Protocol names Istio's {@code protocol.Parse} knows (compared case-insensitively). */
    private static final Set<String> PROTOCOLS =
            Set.of(
                    "tcp",
                    "udp",
                    "grpc",
                    "grpc-web",
                    "http",
                    "http_proxy",
                    "http2",
                    "https",
                    "tls",
                    "mongo",
                    "redis",
                    "mysql");

    /** {@code labels.IsDNS1123Label}: letters (either case), digits, '-', at most 63. */
    static boolean isDns1123Label(String s) {
        return s.length() <= 63 && DNS1123_LABEL.matcher(s).matches();
    }

    /** {@code agent.ValidateWildcardDomain}: the first label may be a wildcard label. */
    static String wildcardDomain(String domain) {
        String pre = dnsPreconditions(domain);
        if (pre != null) {
            return pre;
        }
        int dot = domain.indexOf('.');
        String first = dot < 0 ? domain : domain.substring(0, dot);
        if (first.length() > 63 || !WILDCARD_PREFIX.matcher(first).matches()) {
            return "domain name \"" + domain + "\" invalid (label \"" + first + "\" invalid)";
        }
        return dot < 0 ? null : dns1123Labels(domain, domain.substring(dot + 1));
    }

    /** {@code agent.ValidateFQDN}: DNS labels only, no wildcard. */
    static String fqdn(String name) {
        String pre = dnsPreconditions(name);
        return pre != null ? pre : dns1123Labels(name, name);
    }

    private static String dnsPreconditions(String name) {
        if (name.length() > 255) {
            return "domain name \"" + name + "\" too long (max 255)";
        }
        if (name.isEmpty()) {
            return "empty domain name not allowed";
        }
        return null;
    }

    private static String dns1123Labels(String whole, String domain) {
        String[] parts = domain.split("\\.", -1);
        String tld = parts[parts.length - 1];
        if (tld.matches("[+-]?\\d+")) {
            return "domain name \""
                    + whole
                    + "\" invalid (top level domain \""
                    + tld
                    + "\" cannot be all-numeric)";
        }
        for (int i = 0; i < parts.length; i++) {
            if (i == parts.length - 1 && parts[i].isEmpty()) {
                return null; // "istio.io." is unambiguous
            }
            if (!isDns1123Label(parts[i])) {
                return "domain name \"" + whole + "\" invalid (label \"" + parts[i] + "\" invalid)";
            }
        }
        return null;
    }

    /** {@code agent.ValidatePartialWildCard} (a warning in ServiceEntry hosts). */
    static String partialWildcard(String host) {
        if (host.contains("*") && host.length() != 1 && !host.startsWith("*.")) {
            return "partial wildcard \"" + host + "\" not allowed";
        }
        return null;
    }

    /** Whether Istio's {@code IsWildCarded} holds: the host starts with '*'. */
    static boolean isWildcarded(String host) {
        return host.startsWith("*");
    }

    /**
     * Go's {@code netip.ParseAddr}: an IPv4 dotted quad or an IPv6 literal (zone allowed), no
     * brackets.
     */
    static boolean isIp(String s) {
        if (s.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
            for (String part : s.split("\\.")) {
                if (Integer.parseInt(part) > 255 || part.length() > 1 && part.startsWith("0")) {
                    return false;
                }
            }
            return true;
        }
        String v6 = s.indexOf('%') > 0 ? s.substring(0, s.indexOf('%')) : s;
        if (v6.indexOf(':') >= 0 && v6.matches("[0-9a-fA-F:.]+")) {
            try {
                InetAddress.getByName(v6);
                return true;
            } catch (UnknownHostException e) {
                return false;
            }
        }
        return false;
    }

    /** {@code netip.ParsePrefix}: IP "/" bits within the family's width, no zone. */
    static boolean isCidr(String s) {
        int slash = s.indexOf('/');
        if (slash < 0 || s.indexOf('%') >= 0) {
            return false;
        }
        String ip = s.substring(0, slash);
        String bits = s.substring(slash + 1);
        if (!isIp(ip) || !bits.matches("\\d{1,3}") || bits.length() > 1 && bits.startsWith("0")) {
            return false;
        }
        int max = ip.indexOf(':') >= 0 ? 128 : 32;
        return Integer.parseInt(bits) <= max;
    }

    /** {@code agent.ValidateIPSubnet}. */
    static String ipSubnet(String s) {
        if (s.chars().filter(c -> c == '/').count() == 1) {
            return isCidr(s) ? null : s + " is not a valid CIDR block";
        }
        return isIp(s) ? null : s + " is not a valid IP";
    }

    /** {@code security.ValidateIPs}: IP addresses or CIDR ranges. */
    static String ips(List<String> values) {
        for (String v : values) {
            if (v.contains("/") ? !isCidr(v) : !isIp(v)) {
                return v.contains("/")
                        ? "bad CIDR range (" + v + ")"
                        : "bad IP address (" + v + ")";
            }
        }
        return null;
    }

    /** {@code security.ValidatePorts}: decimal numbers up to 65535. */
    static String ports(List<String> values) {
        for (String p : values) {
            if (!p.matches("\\d{1,10}") || Long.parseLong(p) > 65535) {
                return "bad port (" + p + ")";
            }
        }
        return null;
    }

    /** {@code ValidatePortName}. */
    static String portName(String name) {
        return isDns1123Label(name) ? null : "invalid port name: " + name;
    }

    /** {@code ValidateProtocol}: empty means sniffing and is allowed. */
    static String protocol(String protocol) {
        if (protocol == null
                || protocol.isEmpty()
                || PROTOCOLS.contains(protocol.toLowerCase(Locale.ROOT))) {
            return null;
        }
        return "unsupported protocol: " + protocol;
    }

    /** {@code protocol.IsHTTP}. */
    static boolean isHttp(String protocol) {
        String p = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        return Set.of("http", "http2", "http_proxy", "grpc", "grpc-web").contains(p);
    }

    /** {@code protocol.IsTLS}. */
    static boolean isTls(String protocol) {
        String p = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        return p.equals("https") || p.equals("tls");
    }

    /** {@code protocol.IsTCP}: everything known but the HTTP family and UDP. */
    static boolean isTcp(String protocol) {
        String p = protocol == null ? "" : protocol.toLowerCase(Locale.ROOT);
        return Set.of("tcp", "https", "tls", "mongo", "redis", "mysql").contains(p);
    }

    /** {@code ValidateUnixAddress} (the part after {@code unix://}). */
    static String unixAddress(String path) {
        if (path.isEmpty()) {
            return "unix address must not be empty";
        }
        if (path.startsWith("@")) {
            return null; // abstract socket
        }
        if (!path.startsWith("/") || path.endsWith("/")) {
            return path + " is not an absolute path to a file";
        }
        return null;
    }

    /** {@code labels.Instance.Validate}: Kubernetes label keys and values. */
    static String labels(Map<String, String> labels) {
        for (Map.Entry<String, String> e : labels.entrySet()) {
            var m = TAG_KEY.matcher(e.getKey());
            if (!m.matches()) {
                return "invalid tag key: \"" + e.getKey() + "\"";
            }
            if (m.group(1) != null && m.group(1).length() - 1 > 253) {
                return "invalid tag key: \"" + e.getKey() + "\" (DNS prefix is too long)";
            }
            if (m.group(2).length() > 63) {
                return "invalid tag key: \"" + e.getKey() + "\" (name is too long)";
            }
            if (!LABEL_VALUE.matcher(e.getValue()).matches()) {
                return "invalid tag value: \"" + e.getValue() + "\"";
            }
        }
        return null;
    }

    /** {@code validateWorkloadSelector}'s errors (its warning for no labels is the caller's). */
    static String workloadSelector(Map<String, String> matchLabels) {
        for (Map.Entry<String, String> e : matchLabels.entrySet()) {
            if (e.getKey().isEmpty()) {
                return "empty key is not supported in selector: \"=" + e.getValue() + "\"";
            }
            if (e.getKey().contains("*") || e.getValue().contains("*")) {
                return "wildcard is not supported in selector: \""
                        + e.getKey()
                        + "="
                        + e.getValue()
                        + "\"";
            }
        }
        return null;
    }

    /** {@code security.CheckEmptyValues}. */
    static String emptyValues(String key, List<String> values) {
        return values.stream().anyMatch(String::isEmpty)
                ? "empty value not allowed, found in " + key
                : null;
    }

    /** {@code security.CheckWildcardValues}. */
    static String wildcardValues(String key, List<String> values) {
        String empty = emptyValues(key, values);
        if (empty != null) {
            return empty;
        }
        for (String v : values) {
            long count = v.chars().filter(c -> c == '*').count();
            if (count > 1) {
                return "at most one wildcard is allowed, found in " + key + ": \"" + v + "\"";
            }
            if (count == 1 && !v.equals("*") && !v.startsWith("*") && !v.endsWith("*")) {
                return "wildcard is only allowed at the start or end, found in "
                        + key
                        + ": \""
                        + v
                        + "\"";
            }
        }
        return null;
    }

    /** {@code security.CheckTrustDomainValues}. */
    static String trustDomainValues(String key, List<String> values) {
        String w = wildcardValues(key, values);
        if (w != null) {
            return w;
        }
        for (String v : values) {
            if (v.contains("/")) {
                return "trust domain must not contain '/', found in " + key + ": \"" + v + "\"";
            }
        }
        return null;
    }

    /**
     * {@code security.CheckServiceAccount}: {@code sa} or {@code ns/sa}, no wildcard, at most 16
     * values.
     */
    static String serviceAccounts(String key, List<String> values) {
        if (values.size() > 16) {
            return "may not have more than 16 values";
        }
        for (String v : values) {
            if (v.isEmpty()) {
                return "empty value not allowed, found in " + key;
            }
            if (v.contains("*")) {
                return "wildcard not allowed, found in " + key;
            }
            long slashes = v.chars().filter(c -> c == '/').count();
            if (slashes > 1) {
                return "expected format 'serviceAccount' or 'namespace/serviceAccount', found \""
                        + v
                        + "\" in "
                        + key;
            }
            if (v.length() > 320) {
                return "value cannot exceed 320 characters, found \"" + v + "\" in " + key;
            }
            int slash = v.indexOf('/');
            if (slash == 0) {
                return "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace \""
                        + v
                        + "\" in "
                        + key;
            }
            if (slash == v.length() - 1) {
                return "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount \""
                        + v
                        + "\" in "
                        + key;
            }
        }
        return null;
    }

    /**
     * {@code security.CheckValidPathTemplate}, then what Envoy's {@code uri_template} parser
     * refuses of what istiod sends it (a template without a leading '/', or with an empty segment),
     * which would make Envoy refuse the whole RBAC filter.
     */
    static String pathTemplates(String key, List<String> paths) {
        for (String path : paths) {
            boolean template = PathTemplate.isTemplate(path);
            boolean matchAny = false;
            String trimmed = trimSlashes(path);
            for (String glob : trimmed.split("/", -1)) {
                if (glob.equals("{*}") && !matchAny) {
                    continue;
                } else if (glob.equals("{**}") && !matchAny) {
                    matchAny = true;
                    continue;
                } else if ((glob.equals("{**}") || glob.equals("{*}")) && matchAny) {
                    return "invalid or unsupported path "
                            + trimmed
                            + ", found in "
                            + key
                            + ". {**} is not the last operator";
                }
                if (glob.contains("{") || glob.contains("}")) {
                    return "invalid or unsupported path "
                            + trimmed
                            + ", found in "
                            + key
                            + ". Contains '{' or '}' beyond a supported path template";
                }
                if (template && !PathTemplate.isLiteral(glob)) {
                    return "invalid or unsupported path "
                            + trimmed
                            + ", found in "
                            + key
                            + ". Contains segment "
                            + glob
                            + " with invalid string literal";
                }
            }
            if (template) {
                try {
                    PathTemplate.parse(path);
                } catch (IllegalArgumentException e) {
                    return "invalid or unsupported path "
                            + path
                            + ", found in "
                            + key
                            + ". Envoy's uri_template refuses it: "
                            + e.getMessage();
                }
            }
        }
        return null;
    }

    private static String trimSlashes(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && s.charAt(b) == '/') {
            b++;
        }
        while (e > b && s.charAt(e - 1) == '/') {
            e--;
        }
        return s.substring(b, e);
    }

    /** {@code security.ValidateAttribute}: the {@code when} keys Istio knows, and their values. */
    static String attribute(String key, List<String> values) {
        String empty = emptyValues(key, values);
        if (empty != null) {
            return empty;
        }
        if (key.startsWith("request.headers")
                || key.startsWith("request.auth.claims")
                || key.startsWith("experimental.envoy.filters.")) {
            return mapKey(key);
        }
        return switch (key) {
            case "source.ip", "remote.ip", "destination.ip" -> ips(values);
            case "source.serviceAccount" -> serviceAccounts(key, values);
            case "source.trustDomain" -> wildcardValues(key, values);
            case "source.namespace",
                    "source.principal",
                    "request.auth.principal",
                    "request.auth.audiences",
                    "request.auth.presenter",
                    "connection.sni" ->
                    null;
            case "destination.port" -> ports(values);
            case "destination.namespace" ->
                    "attribute " + key + " is replaced by the metadata.namespace";
            case "destination.name", "destination.user" ->
                    "deprecated attribute " + key + ": only supported in v1alpha1";
            default ->
                    key.startsWith("destination.labels")
                            ? "attribute " + key + " is replaced by the workload selector"
                            : "unknown attribute: " + key;
        };
    }

    private static String mapKey(String key) {
        int open = key.indexOf('[');
        if (key.endsWith("]") && open > 0 && open < key.length() - 2) {
            return null;
        }
        return "bad key (" + key + "): should have format a[b]";
    }

    /**
     * {@code validateExportTo}: no duplicates ({@code .} counts as the namespace), {@code .},
     * {@code *} or DNS-1123 labels, {@code ~} only alone and only for a ServiceEntry, {@code *}
     * alone.
     */
    static String exportTo(
            String namespace, List<String> exportTo, boolean serviceEntry, boolean drWithSelector) {
        Set<String> set = new HashSet<>();
        for (String e : exportTo) {
            String key = e.equals(".") ? namespace : e;
            if (set.contains(key)) {
                return key.equals(e)
                        ? "duplicate entries in exportTo for entry " + e
                        : "duplicate entries in exportTo: . and current namespace " + namespace;
            }
            if (serviceEntry && e.equals("~")) {
                set.add(key);
            } else if (key.equals("~")) {
                return "exportTo ~ (none) is not allowed for Istio configuration objects";
            } else if (!key.equals("*") && !key.equals(".") && !isDns1123Label(key)) {
                return "only .,*, or a valid DNS 1123 label is allowed as exportTo entry";
            } else {
                set.add(key);
            }
        }
        if (drWithSelector && !set.isEmpty()) {
            if (!set.contains(namespace)) {
                return "destination rule with workload selector cannot have exportTo beyond current namespace";
            }
            if (set.size() > 1) {
                return "destination rule with workload selector cannot have multiple entries in exportTo";
            }
        }
        if (set.contains("*") && exportTo.size() > 1) {
            return "cannot have both public (*) and non-public exportTo values for a resource";
        }
        if (set.contains("~") && exportTo.size() > 1) {
            return "cannot export service entry to no one (~) and someone";
        }
        return null;
    }

    /** Envoy's (and Istio's) {@code isPrime} for the Maglev table size. */
    static boolean isPrime(long x) {
        if (x != 0 && x < 4) {
            return true;
        } else if ((x & 1) == 0) {
            return false;
        }
        long limit = (long) Math.sqrt((double) x);
        for (long f = 3; f <= limit; f += 2) {
            if (x % f == 0) {
                return false;
            }
        }
        return true;
    }
}
