package io.mithril.controlplane;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Picks the resources that concern one proxy, as istiod scopes what it pushes. The proxy's
 * namespace is the one of its SPIFFE ID ({@link ProxyIdentity}), so it decides what the proxy may
 * see.
 *
 * <p>Visibility (Istio's {@code exportTo}): a VirtualService, DestinationRule or ServiceEntry is
 * visible to the proxies of its own namespace, and to those of other namespaces only if its {@code
 * exportTo} is absent or empty (Istio's default, {@code "*"}), holds {@code "*"}, or names the
 * proxy's namespace; {@code "."} keeps it in its own namespace and {@code "~"} hides it from every
 * namespace. A WorkloadEntry is visible when a visible ServiceEntry of its namespace selects it
 * ({@code workloadSelector}), as the ServiceEntry is what exposes it. A PeerAuthentication or
 * AuthorizationPolicy is visible only in its own namespace, or everywhere when it is in the root
 * namespace {@value #ROOT_NAMESPACE}. Gateways have no {@code exportTo} in Istio and select gateway
 * proxies of any namespace by label, as istiod does by default.
 *
 * <p>Among the visible resources:
 *
 * <ul>
 *   <li>Gateway proxy: the Gateways whose {@code selector} matches its labels (an empty selector
 *       matches every gateway proxy, as in Istio), and the VirtualServices whose {@code gateways}
 *       name one of them ({@code name} in the VirtualService's namespace, or {@code ns/name}).
 *   <li>Sidecar: the VirtualServices bound to {@code mesh} (explicitly, or by having no {@code
 *       gateways}). No Gateway.
 *   <li>Both: every DestinationRule, ServiceEntry and WorkloadEntry (the upstream side is not
 *       narrowed to the hosts the routes name: a miss there would silently break routing, and the
 *       set is small on plain machines), and the PeerAuthentications and AuthorizationPolicies that
 *       apply to the proxy: no selector or a selector matching its labels.
 * </ul>
 *
 * Order is the order of the configuration files, so a proxy sees the set as written.
 */
public final class ResourceFilter {

    /** Istio's root namespace: policies there apply mesh-wide. */
    public static final String ROOT_NAMESPACE = "istio-system";

    private ResourceFilter() {}

    /** The documents of {@code all} that concern {@code proxy}. */
    public static List<MeshDocument> select(List<MeshDocument> all, ProxyInfo proxy) {
        Set<String> gateways =
                new LinkedHashSet<>(); // "ns/name" of the Gateways selecting this proxy
        List<MeshDocument> serviceEntries =
                new ArrayList<>(); // the ServiceEntries visible to this proxy
        for (MeshDocument d : all) {
            if (proxy.kind() == ProxyInfo.Kind.GATEWAY && d.kind().equals("Gateway")) {
                Map<String, String> selector = d.labelsAt("selector");
                if (proxy.selectedBy(selector == null ? Map.of() : selector)) {
                    gateways.add(d.namespace() + "/" + d.name());
                }
            }
            if (d.kind().equals("ServiceEntry") && exportedTo(d, proxy.namespace())) {
                serviceEntries.add(d);
            }
        }
        List<MeshDocument> out = new ArrayList<>();
        for (MeshDocument d : all) {
            boolean wanted =
                    switch (d.kind()) {
                        case "Gateway" -> gateways.contains(d.namespace() + "/" + d.name());
                        case "VirtualService" ->
                                exportedTo(d, proxy.namespace()) && boundTo(d, proxy, gateways);
                        case "DestinationRule", "ServiceEntry" -> exportedTo(d, proxy.namespace());
                        case "WorkloadEntry" ->
                                serviceEntries.stream().anyMatch(se -> selects(se, d));
                        case "PeerAuthentication", "AuthorizationPolicy" -> appliesTo(d, proxy);
                        default -> false;
                    };
            if (wanted) {
                out.add(d);
            }
        }
        return out;
    }

    /**
     * Whether {@code d} (a VirtualService, DestinationRule or ServiceEntry) is visible in {@code
     * namespace} by its {@code exportTo}.
     */
    static boolean exportedTo(MeshDocument d, String namespace) {
        List<String> exportTo = d.specStrings("exportTo");
        if (exportTo.isEmpty() || exportTo.contains("*") || exportTo.contains(namespace)) {
            return true;
        }
        return d.namespace().equals(namespace) && !exportTo.equals(List.of("~"));
    }

    /**
     * Whether a ServiceEntry's {@code workloadSelector} selects a WorkloadEntry of its namespace.
     */
    private static boolean selects(MeshDocument serviceEntry, MeshDocument workloadEntry) {
        if (!serviceEntry.namespace().equals(workloadEntry.namespace())
                || !serviceEntry.spec().path("workloadSelector").isObject()) {
            return false;
        }
        Map<String, String> selector = serviceEntry.labelsAt("workloadSelector", "labels");
        Map<String, String> labels = workloadEntry.labelsAt("labels");
        return (labels == null ? Map.<String, String>of() : labels)
                .entrySet()
                .containsAll((selector == null ? Map.<String, String>of() : selector).entrySet());
    }

    private static boolean boundTo(MeshDocument vs, ProxyInfo proxy, Set<String> gateways) {
        List<String> refs = vs.specStrings("gateways");
        if (proxy.kind() == ProxyInfo.Kind.SIDECAR) {
            return refs.isEmpty() || refs.contains("mesh");
        }
        for (String ref : refs) {
            String full = ref.contains("/") ? ref : vs.namespace() + "/" + ref;
            if (gateways.contains(full)) {
                return true;
            }
        }
        return false;
    }

    private static boolean appliesTo(MeshDocument policy, ProxyInfo proxy) {
        if (!policy.namespace().equals(proxy.namespace())
                && !policy.namespace().equals(ROOT_NAMESPACE)) {
            return false;
        }
        Map<String, String> selector = policy.labelsAt("selector", "matchLabels");
        return selector == null || proxy.selectedBy(selector);
    }
}
