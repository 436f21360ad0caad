package io.mithril.controlplane.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.PathTemplate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * AuthorizationPolicy as Envoy RBAC, the way istiod writes it: one RBAC filter with action DENY for
 * the DENY policies, then one with action ALLOW for the ALLOW policies (only when there are any),
 * each rule of a policy one Envoy {@link Policy} named {@code ns-policy-<ns>-<name>-rule-<i>}.
 * Inside a rule, {@code to} becomes the permissions and {@code from} the principals; values of a
 * field are ORed, fields ANDed, {@code notX} negated, as {@link RbacPolicy} evaluates them.
 */
final class RbacTranslator {

    /** Envoy's name for the {@code uri_template} path matcher extension. */
    static final String URI_TEMPLATE = "envoy.path.match.uri_template.uri_template_matcher";

    private RbacTranslator() {}

    /**
     * The DENY and ALLOW RBAC configurations for {@code policy}; empty when it allows everything.
     */
    static List<RBAC> translate(RbacPolicy policy) {
        List<RBAC> out = new ArrayList<>();
        if (!policy.deny().isEmpty()) {
            out.add(rbac(RBAC.Action.DENY, policy.deny()));
        }
        if (!policy.allow().isEmpty()) {
            out.add(rbac(RBAC.Action.ALLOW, policy.allow()));
        }
        return out;
    }

    private static RBAC rbac(RBAC.Action action, List<AuthorizationPolicy> policies) {
        RBAC.Builder b = RBAC.newBuilder().setAction(action);
        for (AuthorizationPolicy p : policies) {
            List<AuthorizationPolicy.Rule> rules = p.rules();
            for (int i = 0; i < rules.size(); i++) {
                b.putPolicies(
                        "ns["
                                + p.metadata().namespace()
                                + "]-policy["
                                + p.metadata().name()
                                + "]-rule["
                                + i
                                + "]",
                        policy(rules.get(i)));
            }
        }
        return b.build();
    }

    private static Policy policy(AuthorizationPolicy.Rule rule) {
        List<Permission> perms = new ArrayList<>();
        perms.add(
                rule.to().isEmpty()
                        ? anyPermission()
                        : orPermissions(
                                rule.to().stream().map(RbacTranslator::operation).toList()));
        List<Principal> ids = new ArrayList<>();
        ids.add(
                rule.from().isEmpty()
                        ? anyPrincipal()
                        : orPrincipals(rule.from().stream().map(RbacTranslator::source).toList()));
        for (AuthorizationPolicy.Condition c : rule.when()) {
            if (c.key().equals("destination.port")) {
                perms.add(
                        field(
                                c.values(),
                                c.notValues(),
                                RbacTranslator::port,
                                RbacTranslator::orPermissions,
                                RbacTranslator::andPermissions,
                                RbacTranslator::notPermission,
                                RbacTranslator.anyPermission()));
            } else {
                ids.add(condition(c));
            }
        }
        return Policy.newBuilder()
                .addPermissions(perms.size() == 1 ? perms.get(0) : andPermissions(perms))
                .addPrincipals(ids.size() == 1 ? ids.get(0) : andPrincipals(ids))
                .build();
    }

    private static Permission operation(AuthorizationPolicy.Operation o) {
        List<Permission> all = new ArrayList<>();
        all.add(permissionField(o.hosts(), o.notHosts(), v -> header(":authority", v, true)));
        all.add(permissionField(o.ports(), o.notPorts(), RbacTranslator::port));
        all.add(permissionField(o.methods(), o.notMethods(), v -> header(":method", v, false)));
        all.add(permissionField(o.paths(), o.notPaths(), RbacTranslator::path));
        return andPermissions(all);
    }

    private static Principal source(AuthorizationPolicy.Source s) {
        List<Principal> all = new ArrayList<>();
        all.add(principalField(s.principals(), s.notPrincipals(), RbacTranslator::principalName));
        all.add(
                principalField(
                        s.serviceAccounts(),
                        s.notServiceAccounts(),
                        sa ->
                                Principal.newBuilder()
                                        .setAuthenticated(
                                                Principal.Authenticated.newBuilder()
                                                        .setPrincipalName(
                                                                regex(
                                                                        io.mithril.mesh.model
                                                                                .ServiceAccounts
                                                                                .regex(sa))))
                                        .build()));
        all.add(principalField(s.namespaces(), s.notNamespaces(), RbacTranslator::namespace));
        all.add(
                principalField(
                        s.ipBlocks(),
                        s.notIpBlocks(),
                        v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build()));
        return andPrincipals(all);
    }

    private static Principal condition(AuthorizationPolicy.Condition c) {
        String key = c.key();
        Function<String, Principal> one;
        if (key.equals("source.principal")) {
            one = RbacTranslator::principalName;
        } else if (key.equals("source.namespace")) {
            one = RbacTranslator::namespace;
        } else if (key.equals("source.ip")) {
            one = v -> Principal.newBuilder().setDirectRemoteIp(cidr(v)).build();
        } else if (key.equals("remote.ip")) {
            one = v -> Principal.newBuilder().setRemoteIp(cidr(v)).build();
        } else if (key.startsWith("request.headers[") && key.endsWith("]")) {
            String name =
                    key.substring("request.headers[".length(), key.length() - 1)
                            .toLowerCase(Locale.ROOT);
            one = v -> Principal.newBuilder().setHeader(headerMatcher(name, v, false)).build();
        } else {
            // A key the proxy does not know never matches there either.
            return Principal.newBuilder().setNotId(anyPrincipal()).build();
        }
        return principalField(c.values(), c.notValues(), one);
    }

    private static Permission permissionField(
            List<String> values, List<String> notValues, Function<String, Permission> one) {
        return field(
                values,
                notValues,
                one,
                RbacTranslator::orPermissions,
                RbacTranslator::andPermissions,
                RbacTranslator::notPermission,
                anyPermission());
    }

    private static Principal principalField(
            List<String> values, List<String> notValues, Function<String, Principal> one) {
        return field(
                values,
                notValues,
                one,
                RbacTranslator::orPrincipals,
                RbacTranslator::andPrincipals,
                p -> Principal.newBuilder().setNotId(p).build(),
                anyPrincipal());
    }

    /** {@code values} ORed (any when empty), AND NOT any of {@code notValues}. */
    private static <T> T field(
            List<String> values,
            List<String> notValues,
            Function<String, T> one,
            Function<List<T>, T> or,
            Function<List<T>, T> and,
            Function<T, T> not,
            T any) {
        T yes = values.isEmpty() ? any : or.apply(values.stream().map(one).toList());
        if (notValues.isEmpty()) {
            return yes;
        }
        return and.apply(List.of(yes, not.apply(or.apply(notValues.stream().map(one).toList()))));
    }

    private static Permission anyPermission() {
        return Permission.newBuilder().setAny(true).build();
    }

    private static Principal anyPrincipal() {
        return Principal.newBuilder().setAny(true).build();
    }

    private static Permission orPermissions(List<Permission> ps) {
        return ps.size() == 1
                ? ps.get(0)
                : Permission.newBuilder()
                        .setOrRules(Permission.Set.newBuilder().addAllRules(ps))
                        .build();
    }

    private static Permission andPermissions(List<Permission> ps) {
        List<Permission> needed = ps.stream().filter(p -> !p.getAny()).toList();
        if (needed.isEmpty()) {
            return anyPermission();
        }
        return needed.size() == 1
                ? needed.get(0)
                : Permission.newBuilder()
                        .setAndRules(Permission.Set.newBuilder().addAllRules(needed))
                        .build();
    }

    private static Permission notPermission(Permission p) {
        return Permission.newBuilder().setNotRule(p).build();
    }

    private static Principal orPrincipals(List<Principal> ps) {
        return ps.size() == 1
                ? ps.get(0)
                : Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(ps)).build();
    }

    private static Principal andPrincipals(List<Principal> ps) {
        List<Principal> needed = ps.stream().filter(p -> !p.getAny()).toList();
        if (needed.isEmpty()) {
            return anyPrincipal();
        }
        return needed.size() == 1
                ? needed.get(0)
                : Principal.newBuilder()
                        .setAndIds(Principal.Set.newBuilder().addAllIds(needed))
                        .build();
    }

    private static Permission port(String v) {
        try {
            return Permission.newBuilder().setDestinationPort(Integer.parseInt(v)).build();
        } catch (NumberFormatException e) {
            return notPermission(anyPermission());
        }
    }

    private static Permission header(String name, String pattern, boolean ignoreCase) {
        return Permission.newBuilder().setHeader(headerMatcher(name, pattern, ignoreCase)).build();
    }

    private static HeaderMatcher headerMatcher(String name, String pattern, boolean ignoreCase) {
        return HeaderMatcher.newBuilder()
                .setName(name)
                .setStringMatch(istioPattern(pattern, ignoreCase))
                .build();
    }

    /**
     * A path rule; {@code /a} also covers {@code /a/}, as the proxy's policy does. A template
     * ({@code {*}}, {@code {**}}) is sent as istiod sends it, a {@code uri_template} permission,
     * which matches exactly what the proxy's {@link PathTemplate} matches.
     */
    private static Permission path(String pattern) {
        if (PathTemplate.isTemplate(pattern)) {
            return Permission.newBuilder()
                    .setUriTemplate(
                            TypedExtensionConfig.newBuilder()
                                    .setName(URI_TEMPLATE)
                                    .setTypedConfig(
                                            Any.pack(
                                                    UriTemplateMatchConfig.newBuilder()
                                                            .setPathTemplate(
                                                                    PathTemplate.parse(pattern)
                                                                            .envoyTemplate())
                                                            .build())))
                    .build();
        }
        Permission exact = urlPath(istioPattern(pattern, false));
        if (pattern.equals("*")
                || pattern.endsWith("*")
                || pattern.endsWith("/")
                || pattern.startsWith("*")) {
            return exact;
        }
        return orPermissions(
                List.of(
                        exact,
                        urlPath(StringMatcher.newBuilder().setExact(pattern + "/").build())));
    }

    private static Permission urlPath(StringMatcher m) {
        return Permission.newBuilder().setUrlPath(PathMatcher.newBuilder().setPath(m)).build();
    }

    /** A {@code td/ns/x/sa/y} principal pattern on the peer's verified URI SAN. */
    private static Principal principalName(String pattern) {
        StringMatcher m = pattern.equals("*") ? regex(".+") : istioPattern(spiffe(pattern), false);
        return Principal.newBuilder()
                .setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(m))
                .build();
    }

    private static String spiffe(String pattern) {
        if (pattern.startsWith("*")) {
            return pattern;
        }
        return pattern.startsWith("spiffe://") ? pattern : "spiffe://" + pattern;
    }

    private static Principal namespace(String pattern) {
        String ns;
        if (pattern.equals("*")) {
            ns = "[^/]+";
        } else if (pattern.endsWith("*")) {
            ns = Pattern.quote(pattern.substring(0, pattern.length() - 1)) + "[^/]*";
        } else if (pattern.startsWith("*")) {
            ns = "[^/]*" + Pattern.quote(pattern.substring(1));
        } else {
            ns = Pattern.quote(pattern);
        }
        return Principal.newBuilder()
                .setAuthenticated(
                        Principal.Authenticated.newBuilder()
                                .setPrincipalName(regex("spiffe://[^/]+/ns/" + ns + "/.*")))
                .build();
    }

    /** Istio's string rule ({@code exact}, {@code *}, {@code prefix*}, {@code *suffix}). */
    static StringMatcher istioPattern(String pattern, boolean ignoreCase) {
        StringMatcher.Builder m = StringMatcher.newBuilder().setIgnoreCase(ignoreCase);
        if (pattern.equals("*")) {
            return regex(".+");
        } else if (pattern.endsWith("*")) {
            m.setPrefix(pattern.substring(0, pattern.length() - 1));
        } else if (pattern.startsWith("*")) {
            m.setSuffix(pattern.substring(1));
        } else {
            m.setExact(pattern);
        }
        return m.build();
    }

    static StringMatcher regex(String re) {
        return StringMatcher.newBuilder()
                .setSafeRegex(RegexMatcher.newBuilder().setRegex(re))
                .build();
    }

    private static CidrRange cidr(String v) {
        int slash = v.indexOf('/');
        String address = slash < 0 ? v : v.substring(0, slash);
        int bits =
                slash < 0
                        ? (address.contains(":") ? 128 : 32)
                        : Integer.parseInt(v.substring(slash + 1));
        return CidrRange.newBuilder()
                .setAddressPrefix(address)
                .setPrefixLen(com.google.protobuf.UInt32Value.of(bits))
                .build();
    }
}
