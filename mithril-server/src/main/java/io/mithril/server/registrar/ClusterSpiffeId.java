package io.mithril.server.registrar;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A {@code ClusterSPIFFEID} ({@code spire.spiffe.io/v1alpha1}), as SPIRE Controller Manager reads
 * it: {@code spiffeIDTemplate}, {@code podSelector}, {@code namespaceSelector}, {@code
 * dnsNameTemplates}, {@code workloadSelectorTemplates}, {@code ttl}, {@code jwtTtl}, {@code
 * federatesWith}, {@code hint}, {@code admin}, {@code downstream}.
 */
record ClusterSpiffeId(
        String name,
        String spiffeIdTemplate,
        LabelSelector podSelector,
        LabelSelector namespaceSelector,
        List<String> dnsNameTemplates,
        List<String> workloadSelectorTemplates,
        Duration ttl,
        Duration jwtTtl,
        List<String> federatesWith,
        String hint,
        boolean admin,
        boolean downstream) {

    static final String GROUP = "spire.spiffe.io";
    static final String VERSION = "v1alpha1";
    static final String KIND = "ClusterSPIFFEID";
    static final String PLURAL = "clusterspiffeids";

    /**
     * @throws IllegalArgumentException naming the object and the field that is wrong
     */
    @SuppressWarnings("unchecked")
    static ClusterSpiffeId from(GenericKubernetesResource r) {
        String name = r.getMetadata().getName();
        Object specObj = r.getAdditionalProperties().get("spec");
        if (!(specObj instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("ClusterSPIFFEID " + name + ": no spec");
        }
        Map<String, Object> spec = (Map<String, Object>) specObj;
        Object template = spec.get("spiffeIDTemplate");
        if (!(template instanceof String t) || t.isBlank()) {
            throw new IllegalArgumentException(
                    "ClusterSPIFFEID " + name + ": spec.spiffeIDTemplate is required");
        }
        return new ClusterSpiffeId(
                name,
                t,
                selector(spec.get("podSelector")),
                selector(spec.get("namespaceSelector")),
                strings(spec.get("dnsNameTemplates"), KIND + " " + name, "dnsNameTemplates"),
                strings(
                        spec.get("workloadSelectorTemplates"),
                        KIND + " " + name,
                        "workloadSelectorTemplates"),
                duration(spec.get("ttl"), KIND + " " + name, "ttl"),
                duration(spec.get("jwtTtl"), KIND + " " + name, "jwtTtl"),
                strings(spec.get("federatesWith"), KIND + " " + name, "federatesWith"),
                spec.get("hint") instanceof String h ? h : "",
                Boolean.TRUE.equals(spec.get("admin")),
                Boolean.TRUE.equals(spec.get("downstream")));
    }

    private static LabelSelector selector(Object o) {
        return o == null
                ? null
                : Serialization.unmarshal(Serialization.asJson(o), LabelSelector.class);
    }

    /**
     * A list of strings; {@code what} names the object ({@code "ClusterSPIFFEID x"}) in the error.
     */
    static List<String> strings(Object o, String what, String field) {
        if (o == null) {
            return List.of();
        }
        if (o instanceof List<?> l && l.stream().allMatch(x -> x instanceof String)) {
            return l.stream().map(String.class::cast).toList();
        }
        throw new IllegalArgumentException(what + ": spec." + field + " must be a list of strings");
    }

    /** A Kubernetes {@code metav1.Duration} ({@code "1h"}, {@code "90m"}, {@code "1h30m0s"}). */
    static Duration duration(Object o, String what, String field) {
        if (o == null || "".equals(o)) {
            return Duration.ZERO;
        }
        String s = o.toString();
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|m|s)").matcher(s);
        long millis = 0;
        int end = 0;
        while (m.find() && m.start() == end) {
            double v = Double.parseDouble(m.group(1));
            millis +=
                    (long)
                            (v
                                    * switch (m.group(2)) {
                                        case "h" -> 3_600_000;
                                        case "m" -> 60_000;
                                        case "s" -> 1_000;
                                        default -> 1;
                                    });
            end = m.end();
        }
        if (end != s.length() || s.isEmpty()) {
            throw new IllegalArgumentException(
                    what
                            + ": spec."
                            + field
                            + " \""
                            + s
                            + "\" is not a duration such as \"1h\" or \"90m\"");
        }
        return Duration.ofMillis(millis);
    }
}
