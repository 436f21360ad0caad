package io.mithril.server.registrar;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A {@code ClusterStaticEntry} ({@code spire.spiffe.io/v1alpha1}), as SPIRE Controller Manager
 * reads it: one registration entry written out in full ({@code spiffeID}, {@code parentID}, {@code
 * selectors} as {@code type:value}, {@code federatesWith}, {@code x509SVIDTTL}, {@code jwtSVIDTTL},
 * {@code dnsNames}, {@code hint}, {@code admin}, {@code downstream}).
 */
record ClusterStaticEntry(
        String name,
        SpiffeId spiffeId,
        SpiffeId parentId,
        List<Selector> selectors,
        List<String> federatesWith,
        Duration x509SvidTtl,
        Duration jwtSvidTtl,
        List<String> dnsNames,
        String hint,
        boolean admin,
        boolean downstream) {

    static final String KIND = "ClusterStaticEntry";
    static final String PLURAL = "clusterstaticentries";

    /**
     * @throws IllegalArgumentException naming the object and the field that is wrong
     */
    @SuppressWarnings("unchecked")
    static ClusterStaticEntry from(GenericKubernetesResource r) {
        String what = KIND + " " + r.getMetadata().getName();
        if (!(r.getAdditionalProperties().get("spec") instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(what + ": no spec");
        }
        Map<String, Object> spec = (Map<String, Object>) m;
        SpiffeId id = id(spec.get("spiffeID"), what, "spiffeID");
        SpiffeId parent = id(spec.get("parentID"), what, "parentID");
        List<Selector> selectors = new ArrayList<>();
        for (String s : ClusterSpiffeId.strings(spec.get("selectors"), what, "selectors")) {
            try {
                selectors.add(Selector.parse(s));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(
                        what + ": spec.selectors: \"" + s + "\": " + e.getMessage(), e);
            }
        }
        if (selectors.isEmpty()) {
            throw new IllegalArgumentException(
                    what + ": spec.selectors is required (at least one type:value)");
        }
        return new ClusterStaticEntry(
                r.getMetadata().getName(),
                id,
                parent,
                selectors,
                ClusterSpiffeId.strings(spec.get("federatesWith"), what, "federatesWith"),
                ClusterSpiffeId.duration(spec.get("x509SVIDTTL"), what, "x509SVIDTTL"),
                ClusterSpiffeId.duration(spec.get("jwtSVIDTTL"), what, "jwtSVIDTTL"),
                ClusterSpiffeId.strings(spec.get("dnsNames"), what, "dnsNames"),
                spec.get("hint") instanceof String h ? h : "",
                Boolean.TRUE.equals(spec.get("admin")),
                Boolean.TRUE.equals(spec.get("downstream")));
    }

    private static SpiffeId id(Object o, String what, String field) {
        if (!(o instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException(what + ": spec." + field + " is required");
        }
        try {
            return SpiffeId.parse(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    what + ": spec." + field + " \"" + s + "\": " + e.getMessage(), e);
        }
    }
}
