package io.mithril.controlplane;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Picks the resources that concern one proxy, as istiod scopes what it pushes.
 *
 * <ul>
 *   <li>Gateway proxy: the Gateways whose {@code selector} matches its labels (an empty selector
 *       matches every gateway proxy, as in Istio), and the VirtualServices whose {@code gateways}
 *       name one of them ({@code name} in the VirtualService's namespace, or {@code ns/name}).</li>
 *   <li>Sidecar: the VirtualServices bound to {@code mesh} (explicitly, or by having no
 *       {@code gateways}). No Gateway.</li>
 *   <li>Both: every DestinationRule, ServiceEntry and WorkloadEntry (the upstream side is not
 *       narrowed to the hosts the routes name: a miss there would silently break routing, and
 *       the set is small on plain machines), and the PeerAuthentications and
 *       AuthorizationPolicies that apply to the proxy: in its namespace or in the root namespace
 *       {@code istio-system}, with no selector or a selector matching its labels.</li>
 * </ul>
 *
 * Order is the order of the configuration files, so a proxy sees the set as written.
 */
public final class ResourceFilter {

    /** Istio's root namespace: policies there apply mesh-wide. */
    public static final String ROOT_NAMESPACE = "istio-system";

    private ResourceFilter() {
    }

    /** The documents of {@code all} that concern {@code proxy}. */
    public static List<MeshDocument> select(List<MeshDocument> all, ProxyInfo proxy) {
        Set<String> gateways = new LinkedHashSet<>(); // "ns/name" of the Gateways selecting this proxy
        if (proxy.kind() == ProxyInfo.Kind.GATEWAY) {
            for (MeshDocument d : all) {
                if (d.kind().equals("Gateway")) {
                    Map<String, String> selector = d.labelsAt("selector");
                    if (proxy.selectedBy(selector == null ? Map.of() : selector)) {
                        gateways.add(d.namespace() + "/" + d.name());
                    }
                }
            }
        }
        List<MeshDocument> out = new ArrayList<>();
        for (MeshDocument d : all) {
            boolean wanted = switch (d.kind()) {
                case "Gateway" -> gateways.contains(d.namespace() + "/" + d.name());
                case "VirtualService" -> boundTo(d, proxy, gateways);
                case "DestinationRule", "ServiceEntry", "WorkloadEntry" -> true;
                case "PeerAuthentication", "AuthorizationPolicy" -> appliesTo(d, proxy);
                default -> false;
            };
            if (wanted) {
                out.add(d);
            }
        }
        return out;
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
        if (!policy.namespace().equals(proxy.namespace()) && !policy.namespace().equals(ROOT_NAMESPACE)) {
            return false;
        }
        Map<String, String> selector = policy.labelsAt("selector", "matchLabels");
        return selector == null || proxy.selectedBy(selector);
    }
}
