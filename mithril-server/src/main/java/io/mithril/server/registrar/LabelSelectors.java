package io.mithril.server.registrar;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/**
 * Kubernetes label selector matching: {@code matchLabels} and {@code matchExpressions} (In, NotIn,
 * Exists, DoesNotExist).
 */
final class LabelSelectors {

    private LabelSelectors() {}

    /**
     * Whether the labels match; an absent selector matches everything, as an empty one does.
     *
     * @throws IllegalArgumentException for an unknown operator
     */
    static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return true;
        }
        Map<String, String> l = labels == null ? Map.of() : labels;
        if (selector.getMatchLabels() != null) {
            for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                if (!e.getValue().equals(l.get(e.getKey()))) {
                    return false;
                }
            }
        }
        if (selector.getMatchExpressions() != null) {
            for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
                List<String> values = r.getValues() == null ? List.of() : r.getValues();
                boolean ok =
                        switch (r.getOperator()) {
                            case "In" ->
                                    l.containsKey(r.getKey()) && values.contains(l.get(r.getKey()));
                            case "NotIn" ->
                                    !l.containsKey(r.getKey())
                                            || !values.contains(l.get(r.getKey()));
                            case "Exists" -> l.containsKey(r.getKey());
                            case "DoesNotExist" -> !l.containsKey(r.getKey());
                            default ->
                                    throw new IllegalArgumentException(
                                            "label selector operator \""
                                                    + r.getOperator()
                                                    + "\" is not one of In, NotIn, Exists, DoesNotExist");
                        };
                if (!ok) {
                    return false;
                }
            }
        }
        return true;
    }
}
