package io.mithril.mesh.config;

import java.util.List;
import java.util.Map;

/**
 * The proxy a configuration is compiled for: what it is, its labels (Gateway selectors and workload
 * selectors match them) and namespace, its trust domain (to name SPIFFE IDs of service accounts)
 * and, for a sidecar, its inbound ports and outbound listener.
 *
 * @param inbound sidecar only: each listener port and the local application port it forwards to
 * @param outboundPort sidecar only: the localhost port applications use as their HTTP proxy (0 =
 *     none)
 * @param trustDomainAliases Istio's {@code meshConfig.trustDomainAliases}: other trust domains
 *     whose peers a sidecar's inbound listeners accept (federated ones, with SPIRE)
 */
public record ProxyNode(
        Kind kind,
        String namespace,
        Map<String, String> labels,
        String trustDomain,
        List<InboundPort> inbound,
        String outboundAddress,
        int outboundPort,
        List<String> trustDomainAliases) {

    /** Gateway (ingress or egress) or sidecar. */
    public enum Kind {
        GATEWAY,
        SIDECAR
    }

    /** Istio's root namespace: policies there apply mesh-wide. */
    public static final String ROOT_NAMESPACE = "istio-system";

    public ProxyNode {
        labels = Map.copyOf(labels);
        inbound = List.copyOf(inbound);
        trustDomainAliases = List.copyOf(trustDomainAliases);
    }

    /** This proxy with Istio's {@code trustDomainAliases}. */
    public ProxyNode withTrustDomainAliases(List<String> aliases) {
        return new ProxyNode(
                kind,
                namespace,
                labels,
                trustDomain,
                inbound,
                outboundAddress,
                outboundPort,
                aliases);
    }

    /**
     * The trust domains a sidecar's inbound listeners accept peers from, as istiod's {@code
     * TrustDomainsForValidation}: the own one, then the aliases, without repeats; empty when the
     * trust domain is unknown (no validation).
     */
    public List<String> trustDomainsForValidation() {
        if (trustDomain == null) {
            return List.of();
        }
        java.util.LinkedHashSet<String> tds = new java.util.LinkedHashSet<>();
        tds.add(trustDomain);
        tds.addAll(trustDomainAliases);
        return List.copyOf(tds);
    }

    /** A gateway with these labels. */
    public static ProxyNode gateway(
            String namespace, Map<String, String> labels, String trustDomain) {
        return new ProxyNode(
                Kind.GATEWAY, namespace, labels, trustDomain, List.of(), "127.0.0.1", 0, List.of());
    }

    /** A sidecar with these labels, inbound ports and outbound HTTP proxy port. */
    public static ProxyNode sidecar(
            String namespace,
            Map<String, String> labels,
            String trustDomain,
            List<InboundPort> inbound,
            int outboundPort) {
        return new ProxyNode(
                Kind.SIDECAR,
                namespace,
                labels,
                trustDomain,
                inbound,
                "127.0.0.1",
                outboundPort,
                List.of());
    }

    /** A sidecar whose outbound HTTP proxy listens on {@code outboundAddress:outboundPort}. */
    public static ProxyNode sidecar(
            String namespace,
            Map<String, String> labels,
            String trustDomain,
            List<InboundPort> inbound,
            String outboundAddress,
            int outboundPort) {
        return new ProxyNode(
                Kind.SIDECAR,
                namespace,
                labels,
                trustDomain,
                inbound,
                outboundAddress,
                outboundPort,
                List.of());
    }

    /**
     * A sidecar inbound listener ({@code address:port}) that forwards to the application at {@code
     * appAddress:appPort}.
     */
    public record InboundPort(String address, int port, String appAddress, int appPort) {
        /** Listens on all addresses, forwards to the application on 127.0.0.1. */
        public InboundPort(int port, int appPort) {
            this("0.0.0.0", port, "127.0.0.1", appPort);
        }
    }

    /** Whether {@code selector} (matchLabels) selects this proxy; an empty selector selects all. */
    public boolean selectedBy(Map<String, String> selector) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
