package io.mithril.k8s.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Istio's sidecar injection as a mutating admission webhook: reads an {@code admission.k8s.io/v1}
 * AdmissionReview for a Pod and answers with a JSON patch (RFC 6902) that adds the sidecar.
 *
 * <p>A pod is injected when its namespace is labelled {@code istio-injection=enabled} or the pod is
 * labelled {@code sidecar.istio.io/inject: "true"}; a pod labelled or annotated {@code
 * sidecar.istio.io/inject: "false"} never is, nor one that already has an {@code istio-proxy}
 * container. The templates are those of {@code inject.istio.io/templates} (default {@code
 * sidecar}): {@code sidecar} adds the {@code istio-proxy} container running {@code mithril proxy
 * sidecar}; {@code spire} gives it the SPIRE agent's Workload API socket where Istio's {@code
 * spire} template and SPIRE's helm chart put it: the volume {@code workload-socket} mounted
 * read-only at {@code /run/secrets/workload-spiffe-uds}, the socket {@code
 * /run/secrets/workload-spiffe-uds/socket}. Istio fills that volume with the SPIFFE CSI driver;
 * here it is the {@code hostPath} directory the agent DaemonSet of {@code deploy/kubernetes} serves
 * its socket in (added to the pod unless a volume of that name exists).
 *
 * <p>Fail-open: a pod that cannot be patched (an unknown template, an object that is not a pod, any
 * error) is allowed unchanged with a warning in the response and the log; the answer is never an
 * error.
 */
public final class SidecarInjector {

    private static final Logger log = LoggerFactory.getLogger(SidecarInjector.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String INJECT = "sidecar.istio.io/inject";
    public static final String TEMPLATES = "inject.istio.io/templates";
    public static final String STATUS = "sidecar.istio.io/status";
    public static final String SOCKET_VOLUME = "workload-socket";
    public static final String SOCKET_DIR = "/run/secrets/workload-spiffe-uds";

    /** The Workload API socket in {@link #SOCKET_DIR}: the agent's {@code socket_path}. */
    public static final String SOCKET_PATH = SOCKET_DIR + "/socket";

    /**
     * How the sidecar is run.
     *
     * @param proxyImage the image holding the {@code mithril} command
     * @param controlPlane the control plane's {@code host:port}, or null for none
     * @param controlPlaneId the control plane's SPIFFE ID, or null
     * @param trustDomain the trust domain of service-account identities
     */
    public record Settings(
            String proxyImage, String controlPlane, String controlPlaneId, String trustDomain) {}

    private final Settings settings;
    private final Function<String, Map<String, String>> namespaceLabels;

    /**
     * @param namespaceLabels the labels of a namespace (from the API server), empty when unknown
     */
    public SidecarInjector(
            Settings settings, Function<String, Map<String, String>> namespaceLabels) {
        this.settings = settings;
        this.namespaceLabels = namespaceLabels;
    }

    /**
     * Namespace labels read from the API server; a namespace that cannot be read counts as
     * unlabelled (and the pod is then injected only by its own label).
     */
    public static Function<String, Map<String, String>> namespaceLabels(
            io.fabric8.kubernetes.client.KubernetesClient client) {
        return ns -> {
            try {
                io.fabric8.kubernetes.api.model.Namespace n =
                        client.namespaces().withName(ns).get();
                return n == null || n.getMetadata().getLabels() == null
                        ? Map.of()
                        : n.getMetadata().getLabels();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                log.warn(
                        "Namespace {} could not be read ({}); treating it as not labelled istio-injection=enabled",
                        ns,
                        e.getMessage());
                return Map.of();
            }
        };
    }

    /** Answers an AdmissionReview (JSON bytes); never throws. */
    public byte[] review(byte[] requestJson) {
        ObjectNode response = JSON.createObjectNode();
        ObjectNode out =
                JSON.createObjectNode()
                        .put("apiVersion", "admission.k8s.io/v1")
                        .put("kind", "AdmissionReview");
        out.set("response", response);
        response.put("allowed", true);
        JsonNode request;
        try {
            JsonNode review = JSON.readTree(requestJson);
            request = review == null ? null : review.get("request");
            if (request == null || !request.path("uid").isTextual()) {
                throw new IllegalArgumentException("not an AdmissionReview with request.uid");
            }
            String apiVersion = review.path("apiVersion").asText();
            if (!apiVersion.equals("admission.k8s.io/v1")) {
                throw new IllegalArgumentException(
                        "AdmissionReview " + apiVersion + " is not admission.k8s.io/v1");
            }
        } catch (Exception e) {
            warn(response, "mithril sidecar injection skipped: " + e.getMessage());
            return bytes(out);
        }
        response.put("uid", request.path("uid").asText());
        try {
            List<ObjectNode> patch = patch(request);
            if (!patch.isEmpty()) {
                ArrayNode ops = JSON.createArrayNode();
                ops.addAll(patch);
                response.put("patchType", "JSONPatch");
                response.put("patch", Base64.getEncoder().encodeToString(bytes(ops)));
            }
        } catch (RuntimeException e) {
            String what =
                    request.path("namespace").asText() + "/" + podName(request.path("object"));
            warn(
                    response,
                    "mithril sidecar injection skipped for pod " + what + ": " + e.getMessage());
        }
        return bytes(out);
    }

    private static void warn(ObjectNode response, String warning) {
        log.warn("{}", warning);
        response.putArray("warnings").add(warning);
    }

    private static String podName(JsonNode pod) {
        JsonNode m = pod.path("metadata");
        return m.path("name").asText(m.path("generateName").asText("") + "<generated>");
    }

    private List<ObjectNode> patch(JsonNode request) {
        JsonNode kind = request.path("kind");
        if (!kind.path("kind").asText().equals("Pod") || !kind.path("group").asText("").isEmpty()) {
            throw new IllegalArgumentException(
                    "the object is a " + kind.path("kind").asText() + ", not a Pod");
        }
        if (!request.path("operation").asText("CREATE").equals("CREATE")) {
            return List.of();
        }
        JsonNode pod = request.path("object");
        JsonNode meta = pod.path("metadata");
        String namespace =
                request.path("namespace").asText(meta.path("namespace").asText("default"));
        String label = meta.path("labels").path(INJECT).asText(null);
        String annotation = meta.path("annotations").path(INJECT).asText(null);
        if ("false".equals(label) || "false".equals(annotation)) {
            return List.of();
        }
        boolean wanted =
                "true".equals(label)
                        || "true".equals(annotation)
                        || "enabled"
                                .equals(namespaceLabels.apply(namespace).get("istio-injection"));
        if (!wanted) {
            return List.of();
        }
        for (JsonNode c : pod.path("spec").path("containers")) {
            if (c.path("name").asText().equals("istio-proxy")) {
                return List.of(); // already injected
            }
        }
        List<String> templates = new ArrayList<>();
        for (String t : meta.path("annotations").path(TEMPLATES).asText("sidecar").split(",")) {
            if (!t.isBlank()) {
                templates.add(t.trim());
            }
        }
        for (String t : templates) {
            if (!t.equals("sidecar") && !t.equals("spire")) {
                throw new IllegalArgumentException(
                        "injection template \"" + t + "\" is unknown (known: sidecar, spire)");
            }
        }
        if (!templates.contains("sidecar")) {
            return List.of(); // nothing to add a socket to
        }
        boolean spire = templates.contains("spire");
        List<ObjectNode> ops = new ArrayList<>();
        ObjectNode container = sidecar(spire);
        ops.add(add("/spec/containers/-", container));
        if (spire) {
            boolean hasVolume = false;
            for (JsonNode v : pod.path("spec").path("volumes")) {
                hasVolume |= v.path("name").asText().equals(SOCKET_VOLUME);
            }
            if (!hasVolume) {
                ObjectNode volume = JSON.createObjectNode().put("name", SOCKET_VOLUME);
                volume.putObject("hostPath").put("path", SOCKET_DIR).put("type", "Directory");
                if (pod.path("spec").path("volumes").isArray()) {
                    ops.add(add("/spec/volumes/-", volume));
                } else {
                    ops.add(add("/spec/volumes", JSON.createArrayNode().add(volume)));
                }
            }
        }
        String status =
                "{\"containers\":[\"istio-proxy\"],\"templates\":"
                        + JSON.valueToTree(templates)
                        + "}";
        if (meta.path("annotations").isObject()) {
            ops.add(
                    add(
                            "/metadata/annotations/" + escape(STATUS),
                            JSON.getNodeFactory().textNode(status)));
        } else {
            ops.add(add("/metadata/annotations", JSON.createObjectNode().put(STATUS, status)));
        }
        log.info(
                "Injecting the sidecar into pod {}/{} (templates {})",
                namespace,
                podName(pod),
                templates);
        return ops;
    }

    private ObjectNode sidecar(boolean spire) {
        ObjectNode c =
                JSON.createObjectNode()
                        .put("name", "istio-proxy")
                        .put("image", settings.proxyImage())
                        .put("imagePullPolicy", "IfNotPresent");
        ArrayNode args =
                c.putArray("args")
                        .add("proxy")
                        .add("sidecar")
                        .add("-namespace")
                        .add("$(POD_NAMESPACE)");
        if (spire) {
            args.add("-socketPath").add(SOCKET_PATH);
        }
        if (settings.controlPlane() != null) {
            args.add("-controlPlane").add(settings.controlPlane());
        }
        if (settings.controlPlaneId() != null) {
            args.add("-controlPlaneID").add(settings.controlPlaneId());
        }
        if (settings.trustDomain() != null) {
            args.add("-trustDomain").add(settings.trustDomain());
        }
        ArrayNode env = c.putArray("env");
        env.add(fieldEnv("POD_NAME", "metadata.name"));
        env.add(fieldEnv("POD_NAMESPACE", "metadata.namespace"));
        env.add(fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"));
        ObjectNode sc = c.putObject("securityContext");
        sc.put("runAsNonRoot", true)
                .put("runAsUser", 1337)
                .put("runAsGroup", 1337)
                .put("allowPrivilegeEscalation", false)
                .put("readOnlyRootFilesystem", true);
        sc.putObject("capabilities").putArray("drop").add("ALL");
        if (spire) {
            c.putArray("volumeMounts")
                    .addObject()
                    .put("name", SOCKET_VOLUME)
                    .put("mountPath", SOCKET_DIR)
                    .put("readOnly", true);
        }
        return c;
    }

    private static ObjectNode fieldEnv(String name, String path) {
        ObjectNode e = JSON.createObjectNode().put("name", name);
        e.putObject("valueFrom").putObject("fieldRef").put("fieldPath", path);
        return e;
    }

    private static ObjectNode add(String path, JsonNode value) {
        ObjectNode op = JSON.createObjectNode().put("op", "add").put("path", path);
        op.set("value", value);
        return op;
    }

    /** RFC 6901: {@code ~} as {@code ~0}, {@code /} as {@code ~1}. */
    static String escape(String key) {
        return key.replace("~", "~0").replace("/", "~1");
    }

    private static byte[] bytes(JsonNode n) {
        try {
            return JSON.writeValueAsString(n).getBytes(StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
