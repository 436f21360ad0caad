package io.mithril.proxy.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mithril.mesh.config.RbacPolicy;
import io.mithril.mesh.model.AuthorizationPolicy;
import io.mithril.mesh.model.Metadata;
import io.mithril.mesh.model.PathTemplate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Envoy RBAC (as istiod and our control plane write it from AuthorizationPolicy) back to
 * AuthorizationPolicy rules the proxy evaluates. Each Envoy policy's permissions and principals are
 * put in disjunctive normal form: every conjunction of principals becomes one rule (its source
 * fields in {@code from}, header and remote IP conditions in {@code when}) and the conjunctions of
 * permissions its {@code to} operations. Shapes with no AuthorizationPolicy equivalent (two
 * different positive values of one field ANDed, negations of mixed fields, matchers Istio's
 * patterns cannot say) are refused, never approximated.
 */
final class RbacInverse {

    private static final Pattern POLICY_NAME =
            Pattern.compile("ns\\[(.*)]-policy\\[(.*)]-rule\\[(\\d+)]");
    private static final Pattern NAMESPACE = Pattern.compile("spiffe://\\[\\^/]\\+/ns/(.*)/\\.\\*");
    private static final Pattern QUOTED = Pattern.compile("\\\\Q(.*?)\\\\E");

    private RbacInverse() {}

    /**
     * One field's constraint: one of {@code values} (any when null) and none of {@code notValues}.
     */
    private record Field(List<String> values, List<String> notValues) {}

    /** A conjunction: field name to constraint; empty = true. */
    private record Clause(Map<String, Field> fields) {
        static Clause of(String field, String value) {
            return new Clause(Map.of(field, new Field(List.of(value), List.of())));
        }

        Clause and(Clause o, String where) {
            Map<String, Field> out = new TreeMap<>(fields);
            o.fields.forEach(
                    (k, f) ->
                            out.merge(
                                    k,
                                    f,
                                    (a, b) -> {
                                        if (a.values() != null
                                                && b.values() != null
                                                && !a.values().equals(b.values())) {
                                            throw new XdsRejectedException(
                                                    where
                                                            + ": RBAC ANDs two different "
                                                            + k
                                                            + " values; AuthorizationPolicy cannot say that");
                                        }
                                        List<String> not = new ArrayList<>(a.notValues());
                                        not.addAll(b.notValues());
                                        return new Field(
                                                a.values() != null ? a.values() : b.values(), not);
                                    }));
            return new Clause(out);
        }
    }

    /** The RBAC filters of one chain, DENY and ALLOW together. */
    static RbacPolicy merge(List<RbacPolicy> filters) {
        List<AuthorizationPolicy> deny = new ArrayList<>();
        List<AuthorizationPolicy> allow = new ArrayList<>();
        for (RbacPolicy p : filters) {
            deny.addAll(p.deny());
            allow.addAll(p.allow());
        }
        return new RbacPolicy(deny, allow);
    }

    static RbacPolicy policy(RBAC rbac, String where) {
        AuthorizationPolicy.Action action =
                switch (rbac.getAction()) {
                    case ALLOW -> AuthorizationPolicy.Action.ALLOW;
                    case DENY -> AuthorizationPolicy.Action.DENY;
                    default ->
                            throw new XdsRejectedException(
                                    where
                                            + ": RBAC action "
                                            + rbac.getAction()
                                            + " is not supported");
                };
        // Policy name -> rules, in the order of the names (istiod's rule-<i> suffix keeps rules in
        // order).
        Map<List<String>, List<AuthorizationPolicy.Rule>> byPolicy = new LinkedHashMap<>();
        for (Map.Entry<String, Policy> e : new TreeMap<>(rbac.getPoliciesMap()).entrySet()) {
            Matcher m = POLICY_NAME.matcher(e.getKey());
            List<String> key =
                    m.matches() ? List.of(m.group(1), m.group(2)) : List.of("", e.getKey());
            byPolicy.computeIfAbsent(key, k -> new ArrayList<>())
                    .addAll(rules(e.getValue(), where + " RBAC policy " + e.getKey()));
        }
        List<AuthorizationPolicy> out = new ArrayList<>();
        byPolicy.forEach(
                (k, rules) ->
                        out.add(
                                new AuthorizationPolicy(
                                        new Metadata(k.get(1), k.get(0), Map.of()),
                                        null,
                                        Map.of(),
                                        action,
                                        rules,
                                        true)));
        if (out.isEmpty() && action == AuthorizationPolicy.Action.ALLOW) {
            // Envoy's ALLOW with no policy denies everything: an ALLOW policy without rules does
            // too.
            out.add(
                    new AuthorizationPolicy(
                            new Metadata("rbac-allow-nothing", "", Map.of()),
                            null,
                            Map.of(),
                            action,
                            List.of(),
                            true));
        }
        return action == AuthorizationPolicy.Action.DENY
                ? new RbacPolicy(out, List.of())
                : new RbacPolicy(List.of(), out);
    }

    private static List<AuthorizationPolicy.Rule> rules(Policy p, String where) {
        if (p.hasCondition() || p.hasCheckedCondition()) {
            throw new XdsRejectedException(where + ": CEL conditions are not supported");
        }
        List<Clause> perms = new ArrayList<>();
        for (Permission perm : p.getPermissionsList()) {
            perms.addAll(permission(perm, where));
        }
        List<Clause> ids = new ArrayList<>();
        for (Principal id : p.getPrincipalsList()) {
            ids.addAll(principal(id, where));
        }
        List<AuthorizationPolicy.Operation> to = new ArrayList<>();
        for (Clause c : perms) {
            if (c.fields().isEmpty()) {
                to.clear();
                break;
            }
            to.add(
                    new AuthorizationPolicy.Operation(
                            values(c, "hosts"),
                            nots(c, "hosts"),
                            values(c, "ports"),
                            nots(c, "ports"),
                            values(c, "methods"),
                            nots(c, "methods"),
                            values(c, "paths"),
                            nots(c, "paths")));
        }
        if (perms.isEmpty()) {
            return List.of(); // no permission: the policy matches nothing
        }
        List<AuthorizationPolicy.Rule> rules = new ArrayList<>();
        for (Clause c : ids) {
            List<AuthorizationPolicy.Source> from = new ArrayList<>();
            if (c.fields().containsKey("principals")
                    || c.fields().containsKey("serviceAccounts")
                    || c.fields().containsKey("namespaces")
                    || c.fields().containsKey("ipBlocks")) {
                from.add(
                        new AuthorizationPolicy.Source(
                                values(c, "principals"),
                                nots(c, "principals"),
                                values(c, "namespaces"),
                                nots(c, "namespaces"),
                                values(c, "ipBlocks"),
                                nots(c, "ipBlocks"),
                                values(c, "serviceAccounts"),
                                nots(c, "serviceAccounts")));
            }
            List<AuthorizationPolicy.Condition> when = new ArrayList<>();
            c.fields()
                    .forEach(
                            (k, f) -> {
                                if (k.contains(".")) {
                                    when.add(
                                            new AuthorizationPolicy.Condition(
                                                    k,
                                                    f.values() == null ? List.of() : f.values(),
                                                    f.notValues()));
                                }
                            });
            rules.add(new AuthorizationPolicy.Rule(from, to, when));
        }
        return rules;
    }

    private static List<String> values(Clause c, String field) {
        Field f = c.fields().get(field);
        return f == null || f.values() == null ? List.of() : f.values();
    }

    private static List<String> nots(Clause c, String field) {
        Field f = c.fields().get(field);
        return f == null ? List.of() : f.notValues();
    }

    // ---- disjunctive normal forms

    private static List<Clause> permission(Permission p, String where) {
        return switch (p.getRuleCase()) {
            case ANY -> List.of(new Clause(Map.of()));
            case OR_RULES ->
                    or(
                            p.getOrRules().getRulesList().stream()
                                    .map(r -> permission(r, where))
                                    .toList());
            case AND_RULES ->
                    and(
                            p.getAndRules().getRulesList().stream()
                                    .map(r -> permission(r, where))
                                    .toList(),
                            where);
            case NOT_RULE -> not(permission(p.getNotRule(), where), where);
            case HEADER -> {
                String name = p.getHeader().getName();
                String field =
                        switch (name) {
                            case ":authority", "host" -> "hosts";
                            case ":method" -> "methods";
                            default ->
                                    throw new XdsRejectedException(
                                            where
                                                    + ": RBAC permission on header "
                                                    + name
                                                    + " is not supported");
                        };
                yield List.of(Clause.of(field, pattern(p.getHeader().getStringMatch(), where)));
            }
            case DESTINATION_PORT ->
                    List.of(Clause.of("ports", Integer.toString(p.getDestinationPort())));
            case URL_PATH -> List.of(Clause.of("paths", pattern(p.getUrlPath().getPath(), where)));
            case URI_TEMPLATE ->
                    List.of(Clause.of("paths", uriTemplate(p.getUriTemplate(), where)));
            default ->
                    throw new XdsRejectedException(
                            where + ": RBAC permission " + p.getRuleCase() + " is not supported");
        };
    }

    private static List<Clause> principal(Principal p, String where) {
        return switch (p.getIdentifierCase()) {
            case ANY -> List.of(new Clause(Map.of()));
            case OR_IDS ->
                    or(p.getOrIds().getIdsList().stream().map(r -> principal(r, where)).toList());
            case AND_IDS ->
                    and(
                            p.getAndIds().getIdsList().stream()
                                    .map(r -> principal(r, where))
                                    .toList(),
                            where);
            case NOT_ID -> not(principal(p.getNotId(), where), where);
            case AUTHENTICATED ->
                    List.of(authenticated(p.getAuthenticated().getPrincipalName(), where));
            case DIRECT_REMOTE_IP -> List.of(Clause.of("ipBlocks", cidr(p.getDirectRemoteIp())));
            case REMOTE_IP -> List.of(Clause.of("remote.ip", cidr(p.getRemoteIp())));
            case HEADER ->
                    List.of(
                            Clause.of(
                                    "request.headers[" + p.getHeader().getName() + "]",
                                    pattern(p.getHeader().getStringMatch(), where)));
            default ->
                    throw new XdsRejectedException(
                            where
                                    + ": RBAC principal "
                                    + p.getIdentifierCase()
                                    + " is not supported");
        };
    }

    private static List<Clause> or(List<List<Clause>> parts) {
        List<Clause> all = new ArrayList<>();
        parts.forEach(all::addAll);
        // Values of one field ORed are one clause, as Istio writes them.
        String field = null;
        List<String> values = new ArrayList<>();
        for (Clause c : all) {
            if (c.fields().size() != 1) {
                return all;
            }
            Map.Entry<String, Field> e = c.fields().entrySet().iterator().next();
            if (e.getValue().values() == null
                    || !e.getValue().notValues().isEmpty()
                    || field != null && !field.equals(e.getKey())) {
                return all;
            }
            field = e.getKey();
            values.addAll(e.getValue().values());
        }
        return field == null
                ? all
                : List.of(new Clause(Map.of(field, new Field(values, List.of()))));
    }

    private static List<Clause> and(List<List<Clause>> parts, String where) {
        List<Clause> acc = List.of(new Clause(Map.of()));
        for (List<Clause> part : parts) {
            List<Clause> next = new ArrayList<>();
            for (Clause a : acc) {
                for (Clause b : part) {
                    next.add(a.and(b, where));
                }
            }
            acc = next;
        }
        return acc;
    }

    /** NOT of one field's values ORed: that field's notValues. */
    private static List<Clause> not(List<Clause> inner, String where) {
        if (inner.size() == 1 && inner.get(0).fields().size() == 1) {
            Map.Entry<String, Field> e = inner.get(0).fields().entrySet().iterator().next();
            if (e.getValue().values() != null && e.getValue().notValues().isEmpty()) {
                return List.of(
                        new Clause(Map.of(e.getKey(), new Field(null, e.getValue().values()))));
            }
        }
        throw new XdsRejectedException(
                where
                        + ": RBAC negates more than one field's values; AuthorizationPolicy cannot say that");
    }

    // ---- values

    /**
     * A {@code uri_template} permission (istiod's form of a path template): the AuthorizationPolicy
     * template it says.
     */
    private static String uriTemplate(TypedExtensionConfig c, String where) {
        if (!c.getTypedConfig().is(UriTemplateMatchConfig.class)) {
            throw new XdsRejectedException(
                    where
                            + ": RBAC uri_template "
                            + c.getName()
                            + " has type "
                            + c.getTypedConfig().getTypeUrl()
                            + ", not UriTemplateMatchConfig");
        }
        try {
            return PathTemplate.fromEnvoy(
                            c.getTypedConfig()
                                    .unpack(UriTemplateMatchConfig.class)
                                    .getPathTemplate())
                    .template();
        } catch (com.google.protobuf.InvalidProtocolBufferException | IllegalArgumentException e) {
            throw new XdsRejectedException(where + ": RBAC uri_template: " + e.getMessage());
        }
    }

    /**
     * Istio's pattern for an Envoy string matcher: exact, {@code prefix*}, {@code *suffix}, {@code
     * *}.
     */
    private static String pattern(StringMatcher m, String where) {
        return switch (m.getMatchPatternCase()) {
            case EXACT -> m.getExact();
            case PREFIX -> m.getPrefix() + "*";
            case SUFFIX -> "*" + m.getSuffix();
            case SAFE_REGEX -> {
                if (m.getSafeRegex().getRegex().equals(".+")) {
                    yield "*";
                }
                throw new XdsRejectedException(
                        where
                                + ": RBAC regex "
                                + m.getSafeRegex().getRegex()
                                + " has no Istio pattern");
            }
            default ->
                    throw new XdsRejectedException(
                            where
                                    + ": RBAC string matcher "
                                    + m.getMatchPatternCase()
                                    + " is not supported");
        };
    }

    /** A peer SPIFFE ID matcher: principals ({@code td/ns/x/sa/y} patterns) or a namespace. */
    private static Clause authenticated(StringMatcher m, String where) {
        if (m.getMatchPatternCase() == StringMatcher.MatchPatternCase.SAFE_REGEX) {
            Matcher ns = NAMESPACE.matcher(m.getSafeRegex().getRegex());
            if (ns.matches()) {
                return Clause.of("namespaces", namespace(ns.group(1), where));
            }
            java.util.Optional<String> sa =
                    io.mithril.mesh.model.ServiceAccounts.fromRegex(m.getSafeRegex().getRegex());
            if (sa.isPresent()) {
                return Clause.of("serviceAccounts", sa.get());
            }
        }
        String p = pattern(m, where);
        return Clause.of(
                "principals", p.startsWith("spiffe://") ? p.substring("spiffe://".length()) : p);
    }

    private static String namespace(String re, String where) {
        if (re.equals("[^/]+")) {
            return "*";
        }
        Matcher q = QUOTED.matcher(re);
        if (!q.find()) {
            throw new XdsRejectedException(
                    where + ": RBAC namespace regex " + re + " has no Istio pattern");
        }
        String literal = q.group(1);
        String before = re.substring(0, q.start());
        String after = re.substring(q.end());
        if (before.isEmpty() && after.isEmpty()) {
            return literal;
        } else if (before.isEmpty() && after.equals("[^/]*")) {
            return literal + "*";
        } else if (before.equals("[^/]*") && after.isEmpty()) {
            return "*" + literal;
        }
        throw new XdsRejectedException(
                where + ": RBAC namespace regex " + re + " has no Istio pattern");
    }

    private static String cidr(CidrRange c) {
        return c.getAddressPrefix() + (c.hasPrefixLen() ? "/" + c.getPrefixLen().getValue() : "");
    }
}
