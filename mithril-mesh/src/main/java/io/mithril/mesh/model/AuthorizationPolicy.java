package io.mithril.mesh.model;

import java.util.List;
import java.util.Map;

/**
 * {@code security.istio.io AuthorizationPolicy}. Inside a rule, {@code from}, {@code to} and {@code
 * when} are ANDed; entries of each list are ORed; inside a source or operation the fields are ANDed
 * and each field's values are ORed; {@code notX} fields negate.
 */
public record AuthorizationPolicy(
        Metadata metadata,
        Origin origin,
        Map<String, String> selector,
        Action action,
        List<Rule> rules,
        boolean rulesGiven)
        implements Resource {
    public AuthorizationPolicy {
        selector = selector == null ? null : Map.copyOf(selector);
        rules = List.copyOf(rules);
    }

    /** {@code action}. */
    public enum Action {
        ALLOW,
        DENY,
        AUDIT,
        CUSTOM
    }

    /** {@code rules[]}. */
    public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
        public Rule {
            from = List.copyOf(from);
            to = List.copyOf(to);
            when = List.copyOf(when);
        }
    }

    /** {@code from[].source}. */
    public record Source(
            List<String> principals,
            List<String> notPrincipals,
            List<String> namespaces,
            List<String> notNamespaces,
            List<String> ipBlocks,
            List<String> notIpBlocks,
            List<String> serviceAccounts,
            List<String> notServiceAccounts) {
        /**
         * {@code serviceAccounts} and {@code notServiceAccounts} are {@code ns/sa}, matched as
         * {@link ServiceAccounts} says.
         */
        public Source {
            principals = List.copyOf(principals);
            notPrincipals = List.copyOf(notPrincipals);
            namespaces = List.copyOf(namespaces);
            notNamespaces = List.copyOf(notNamespaces);
            ipBlocks = List.copyOf(ipBlocks);
            notIpBlocks = List.copyOf(notIpBlocks);
            serviceAccounts = List.copyOf(serviceAccounts);
            notServiceAccounts = List.copyOf(notServiceAccounts);
        }

        /** A source without service accounts. */
        public Source(
                List<String> principals,
                List<String> notPrincipals,
                List<String> namespaces,
                List<String> notNamespaces,
                List<String> ipBlocks,
                List<String> notIpBlocks) {
            this(
                    principals,
                    notPrincipals,
                    namespaces,
                    notNamespaces,
                    ipBlocks,
                    notIpBlocks,
                    List.of(),
                    List.of());
        }
    }

    /** {@code to[].operation}. */
    public record Operation(
            List<String> hosts,
            List<String> notHosts,
            List<String> ports,
            List<String> notPorts,
            List<String> methods,
            List<String> notMethods,
            List<String> paths,
            List<String> notPaths) {
        public Operation {
            hosts = List.copyOf(hosts);
            notHosts = List.copyOf(notHosts);
            ports = List.copyOf(ports);
            notPorts = List.copyOf(notPorts);
            methods = List.copyOf(methods);
            notMethods = List.copyOf(notMethods);
            paths = List.copyOf(paths);
            notPaths = List.copyOf(notPaths);
        }
    }

    /**
     * {@code when[]}: {@code key} with {@code values}/{@code notValues} (request.headers[...],
     * source.principal, ...).
     */
    public record Condition(String key, List<String> values, List<String> notValues) {
        public Condition {
            values = List.copyOf(values);
            notValues = List.copyOf(notValues);
        }
    }
}
