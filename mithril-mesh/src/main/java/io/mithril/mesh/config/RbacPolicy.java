package io.mithril.mesh.config;

import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.AuthorizationPolicy.Condition;
import io.mithril.mesh.model.AuthorizationPolicy.Operation;
import io.mithril.mesh.model.AuthorizationPolicy.Rule;
import io.mithril.mesh.model.AuthorizationPolicy.Source;
import io.mithril.mesh.model.PathTemplate;
import io.mithril.mesh.model.ServiceAccounts;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The AuthorizationPolicies that apply to one proxy, evaluated as Istio does: a request that
 * matches any DENY policy is denied; else, if any ALLOW policy applies to the workload, the request
 * must match one of them; else it is allowed. A denied HTTP request gets {@code 403 RBAC: access
 * denied}.
 */
public record RbacPolicy(List<AuthorizationPolicy> deny, List<AuthorizationPolicy> allow) {

    /** No policy: everything is allowed. */
    public static final RbacPolicy ALLOW_ALL = new RbacPolicy(List.of(), List.of());

    public RbacPolicy {
        deny = List.copyOf(deny);
        allow = List.copyOf(allow);
    }

    /** The outcome, and the policy that decided it (for logs). */
    public record Decision(boolean allowed, String policy) {}

    /** Decides a request. */
    public Decision evaluate(RequestAttributes r) {
        for (AuthorizationPolicy p : deny) {
            if (matchesAny(p, r)) {
                return new Decision(
                        false, "DENY " + p.metadata().namespace() + "/" + p.metadata().name());
            }
        }
        if (allow.isEmpty()) {
            return new Decision(true, "");
        }
        for (AuthorizationPolicy p : allow) {
            if (matchesAny(p, r)) {
                return new Decision(
                        true, "ALLOW " + p.metadata().namespace() + "/" + p.metadata().name());
            }
        }
        return new Decision(false, "no ALLOW policy matched");
    }

    private static boolean matchesAny(AuthorizationPolicy p, RequestAttributes r) {
        for (Rule rule : p.rules()) {
            if (matches(rule, r)) {
                return true;
            }
        }
        return false;
    }

    static boolean matches(Rule rule, RequestAttributes r) {
        if (!rule.from().isEmpty() && rule.from().stream().noneMatch(s -> matches(s, r))) {
            return false;
        }
        if (!rule.to().isEmpty() && rule.to().stream().noneMatch(o -> matches(o, r))) {
            return false;
        }
        return rule.when().stream().allMatch(c -> matches(c, r));
    }

    private static String principal(RequestAttributes r) {
        String id = r.sourcePrincipal();
        if (id == null) {
            return null;
        }
        return id.startsWith("spiffe://") ? id.substring("spiffe://".length()) : id;
    }

    /** The namespace of a {@code <td>/ns/<ns>/sa/<sa>} principal, or null. */
    static String namespaceOf(String principal) {
        if (principal == null) {
            return null;
        }
        int i = principal.indexOf("/ns/");
        if (i < 0) {
            return null;
        }
        int end = principal.indexOf('/', i + 4);
        return end < 0 ? principal.substring(i + 4) : principal.substring(i + 4, end);
    }

    private static boolean matches(Source s, RequestAttributes r) {
        String principal = principal(r);
        String ns = namespaceOf(principal);
        return field(s.principals(), s.notPrincipals(), principal, true)
                && (s.serviceAccounts().isEmpty()
                        || s.serviceAccounts().stream()
                                .anyMatch(sa -> ServiceAccounts.matches(sa, principal)))
                && s.notServiceAccounts().stream()
                        .noneMatch(sa -> ServiceAccounts.matches(sa, principal))
                && field(s.namespaces(), s.notNamespaces(), ns, true)
                && ipField(s.ipBlocks(), s.notIpBlocks(), r.sourceAddress());
    }

    private static boolean matches(Operation o, RequestAttributes r) {
        String host = r.authority();
        return field(o.hosts(), o.notHosts(), host, false)
                && field(o.ports(), o.notPorts(), Integer.toString(r.port()), true)
                && field(o.methods(), o.notMethods(), r.method(), true)
                && pathField(o.paths(), o.notPaths(), r.path());
    }

    /**
     * As {@link #field}, where {@code /a/} is also {@code /a} for a path that is not a template:
     * most applications serve both, so a rule on one must hold for the other (a DENY on {@code
     * /admin} is not passed by {@code /admin/}). A template ({@code {*}}, {@code {**}}) matches
     * exactly what Envoy's {@code uri_template} matcher matches ({@link PathTemplate}), as istiod
     * configures Envoy for it. The proxy has already normalized the path (dot segments, slashes,
     * escapes).
     */
    private static boolean pathField(List<String> values, List<String> notValues, String path) {
        String bare =
                path.length() > 1 && path.endsWith("/")
                        ? path.substring(0, path.length() - 1)
                        : path;
        if (!values.isEmpty() && values.stream().noneMatch(v -> pathPattern(v, path, bare))) {
            return false;
        }
        return notValues.stream().noneMatch(v -> pathPattern(v, path, bare));
    }

    /**
     * Parsed path templates: a policy's few templates, parsed once rather than on every request.
     */
    private static final Map<String, PathTemplate> TEMPLATES = new ConcurrentHashMap<>();

    private static boolean pathPattern(String pattern, String path, String bare) {
        if (PathTemplate.isTemplate(pattern)) {
            return TEMPLATES.computeIfAbsent(pattern, PathTemplate::parse).matches(path);
        }
        return pattern(pattern, path, true) || pattern(pattern, bare, true);
    }

    private static boolean matches(Condition c, RequestAttributes r) {
        String value =
                switch (c.key()) {
                    case "source.principal" -> principal(r);
                    case "source.namespace" -> namespaceOf(principal(r));
                    case "source.ip", "remote.ip" -> r.sourceAddress();
                    case "destination.port" -> Integer.toString(r.port());
                    default ->
                            c.key().startsWith("request.headers[") && c.key().endsWith("]")
                                    ? r.header(
                                            c.key()
                                                    .substring(
                                                            "request.headers[".length(),
                                                            c.key().length() - 1)
                                                    .toLowerCase(Locale.ROOT))
                                    : null;
                };
        if (c.key().equals("source.ip") || c.key().equals("remote.ip")) {
            return ipField(c.values(), c.notValues(), value);
        }
        return field(c.values(), c.notValues(), value, true);
    }

    /** Values are ORed; a set notValues excludes; an empty values list matches anything. */
    private static boolean field(
            List<String> values, List<String> notValues, String actual, boolean caseSensitive) {
        if (!values.isEmpty()
                && (actual == null
                        || values.stream().noneMatch(v -> pattern(v, actual, caseSensitive)))) {
            return false;
        }
        return notValues.isEmpty()
                || actual == null
                || notValues.stream().noneMatch(v -> pattern(v, actual, caseSensitive));
    }

    /** Istio's string rule: exact, {@code *}, {@code prefix*} or {@code *suffix}. */
    static boolean pattern(String pattern, String value, boolean caseSensitive) {
        if (!caseSensitive) {
            pattern = pattern.toLowerCase(Locale.ROOT);
            value = value.toLowerCase(Locale.ROOT);
            int colon = value.lastIndexOf(':');
            if (colon > 0 && !pattern.contains(":")) {
                value = value.substring(0, colon); // hosts match with or without the port
            }
        }
        if (pattern.equals("*")) {
            return !value.isEmpty();
        }
        if (pattern.endsWith("*")) {
            return value.startsWith(pattern.substring(0, pattern.length() - 1));
        }
        if (pattern.startsWith("*")) {
            return value.endsWith(pattern.substring(1));
        }
        return pattern.equals(value);
    }

    private static boolean ipField(List<String> blocks, List<String> notBlocks, String address) {
        if (!blocks.isEmpty()
                && (address == null || blocks.stream().noneMatch(b -> inCidr(b, address)))) {
            return false;
        }
        return notBlocks.isEmpty()
                || address == null
                || notBlocks.stream().noneMatch(b -> inCidr(b, address));
    }

    static boolean inCidr(String cidr, String address) {
        try {
            int slash = cidr.indexOf('/');
            byte[] net =
                    InetAddress.getByName(slash < 0 ? cidr : cidr.substring(0, slash)).getAddress();
            byte[] addr = InetAddress.getByName(address).getAddress();
            if (net.length != addr.length) {
                return false;
            }
            int bits = slash < 0 ? net.length * 8 : Integer.parseInt(cidr.substring(slash + 1));
            BigInteger mask =
                    BigInteger.ONE
                            .shiftLeft(net.length * 8)
                            .subtract(BigInteger.ONE)
                            .shiftRight(bits)
                            .not();
            return new BigInteger(1, net).and(mask).equals(new BigInteger(1, addr).and(mask));
        } catch (UnknownHostException | NumberFormatException e) {
            return false;
        }
    }
}
