package io.mithril.server.registrar;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The part of Go's {@code text/template} that ClusterSPIFFEID templates use: field paths such as
 * {@code {{ .TrustDomain }}}, {@code {{ .PodMeta.Namespace }}}, {@code {{
 * .PodSpec.ServiceAccountName }}}, {@code {{ .PodMeta.Labels.app }}} and {@code {{ index
 * .PodMeta.Labels "app.kubernetes.io/name" }}}, evaluated over the JSON of the pod and node (Go
 * field names map to JSON names: {@code UID} to {@code uid}, {@code ServiceAccountName} to {@code
 * serviceAccountName}). Anything else (pipelines, conditionals, functions) is refused, as is a
 * field with no value, naming the template.
 */
final class GoTemplate {

    private static final Pattern ACTION = Pattern.compile("\\{\\{-?\\s*(.*?)\\s*-?}}");
    private static final Pattern PATH =
            Pattern.compile("\\.[A-Za-z][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_][A-Za-z0-9_.-]*)*");
    private static final Pattern INDEX =
            Pattern.compile("index\\s+(\\.[A-Za-z][A-Za-z0-9_.]*)\\s+\"([^\"]*)\"");

    private GoTemplate() {}

    /**
     * @param data the template's data: {@code TrustDomain}, {@code ClusterName}, {@code
     *     ClusterDomain} as strings, {@code PodMeta}, {@code PodSpec}, {@code NodeMeta}, {@code
     *     NodeSpec} as JSON maps
     * @throws IllegalArgumentException naming the template and what is wrong with it
     */
    static String render(String template, Map<String, Object> data) {
        Matcher m = ACTION.matcher(template);
        StringBuilder out = new StringBuilder();
        int last = 0;
        while (m.find()) {
            out.append(template, last, m.start());
            String action = m.group(1);
            Object v;
            Matcher idx = INDEX.matcher(action);
            if (idx.matches()) {
                v = lookup(data, idx.group(1), template);
                v = v instanceof Map<?, ?> map ? map.get(idx.group(2)) : null;
                if (v == null) {
                    throw new IllegalArgumentException(
                            "template \"" + template + "\": " + action + " has no value");
                }
            } else if (PATH.matcher(action).matches()) {
                v = lookup(data, action, template);
            } else {
                throw new IllegalArgumentException(
                        "template \""
                                + template
                                + "\": {{ "
                                + action
                                + " }} is not supported (only field paths such as .PodMeta.Namespace and index .PodMeta.Labels \"key\")");
            }
            if (v instanceof Map<?, ?> || v instanceof List<?>) {
                throw new IllegalArgumentException(
                        "template \"" + template + "\": " + action + " is not a single value");
            }
            out.append(v);
            last = m.end();
        }
        out.append(template.substring(last));
        if (out.indexOf("{{") >= 0 || out.indexOf("}}") >= 0) {
            throw new IllegalArgumentException(
                    "template \"" + template + "\" has an unbalanced {{ }}");
        }
        return out.toString();
    }

    private static Object lookup(Map<String, Object> data, String path, String template) {
        String[] segs = path.substring(1).split("\\.");
        Object cur = data.get(segs[0]);
        boolean verbatim = false;
        List<String> walked = new ArrayList<>(List.of(segs[0]));
        for (int i = 1; i < segs.length && cur != null; i++) {
            if (!(cur instanceof Map<?, ?> map)) {
                cur = null;
                break;
            }
            String key =
                    verbatim
                            ? String.join(".", List.of(segs).subList(i, segs.length))
                            : jsonName(segs[i]);
            cur = map.get(key);
            walked.add(segs[i]);
            if (verbatim) {
                break;
            }
            verbatim = key.equals("labels") || key.equals("annotations");
        }
        if (cur == null) {
            throw new IllegalArgumentException(
                    "template \"" + template + "\": " + path + " has no value");
        }
        return cur;
    }

    private static String jsonName(String goName) {
        if (goName.equals(goName.toUpperCase())) {
            return goName.toLowerCase(); // UID -> uid
        }
        return Character.toLowerCase(goName.charAt(0)) + goName.substring(1);
    }
}
