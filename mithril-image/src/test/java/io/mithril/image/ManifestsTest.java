package io.mithril.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.controlplane.ControlPlaneConfig;
import io.mithril.hcl.Hcl;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.server.config.ServerConfigParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * deploy/kubernetes as {@code kubectl kustomize} renders it for each overlay: every object typed by
 * fabric8's model with no unknown field, every custom resource of a kind whose CRD is rendered and
 * read by the project's own parser, every configuration file in a ConfigMap read by the parser that
 * will read it in the pod (with the environment the pod gives it), and every image the one this
 * build makes.
 */
class ManifestsTest {

    static final Path REPO =
            Path.of(System.getProperty("mithril.repo", "..")).toAbsolutePath().normalize();
    static final Path DEPLOY = REPO.resolve("deploy/kubernetes");

    /** The one image that is not this project's: curl in sleep, as in Istio's sleep sample. */
    static final String CURL_IMAGE = "curlimages/curl:8.11.1";

    @TempDir Path tmp;

    static String builtImage() throws IOException {
        Properties p = new Properties();
        try (InputStream in = ManifestsTest.class.getResourceAsStream("/image.properties")) {
            p.load(in);
        }
        return p.getProperty("image");
    }

    private static final Map<String, RenderedManifests> RENDERED =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Each overlay rendered once per run (kubectl takes a few seconds). */
    static RenderedManifests render(String overlay) throws Exception {
        RenderedManifests r = RENDERED.get(overlay);
        if (r == null) {
            r = RenderedManifests.render(DEPLOY.resolve("overlays").resolve(overlay));
            RENDERED.put(overlay, r);
        }
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void everyObjectIsTypedWithNoUnknownField(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        assertThat(r.objects).hasSizeGreaterThan(20);
        List<String> problems = new ArrayList<>();
        for (HasMetadata o : r.objects) {
            if (o instanceof GenericKubernetesResource g) {
                if (crdServing(r, g.getApiVersion(), g.getKind()) == null) {
                    problems.add(
                            g.getApiVersion()
                                    + " "
                                    + g.getKind()
                                    + " "
                                    + g.getMetadata().getName()
                                    + ": neither a Kubernetes kind nor a kind of a rendered CustomResourceDefinition");
                }
            } else {
                problems.addAll(RenderedManifests.unknownFields(o));
            }
        }
        assertThat(problems).as(overlay).isEmpty();
    }

    @Test
    void anUnknownFieldIsFound() {
        RenderedManifests r =
                RenderedManifests.parse(
                        "test",
                        """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: x
                  namespace: default
                spec:
                  replicaz: 2
                  selector:
                    matchLabels: {app: x}
                  template:
                    metadata:
                      labels: {app: x}
                    spec:
                      containers:
                        - name: x
                          image: mithril
                          volumeMount:
                            - name: y
                              mountPath: /y
                """);
        assertThat(RenderedManifests.unknownFields(r.objects.get(0)))
                .containsExactlyInAnyOrder(
                        "Deployment default/x.spec.replicaz",
                        "Deployment default/x.spec.template.spec.containers[0].volumeMount");
    }

    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void customResourcesAreReadByTheProjectsParsersAndTheirCrds(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        List<String> problems = new ArrayList<>();
        for (GenericKubernetesResource g : r.all(GenericKubernetesResource.class)) {
            String group = g.getApiVersion().substring(0, g.getApiVersion().indexOf('/'));
            if (group.endsWith("istio.io")) {
                String yaml = RenderedManifests.SERIALIZATION.asYaml(g);
                MeshYaml.Result result =
                        MeshYaml.parse(g.getKind() + " " + g.getMetadata().getName(), yaml);
                result.errors().forEach(e -> problems.add(e.toString()));
            } else {
                CustomResourceDefinitionVersion v = crdServing(r, g.getApiVersion(), g.getKind());
                if (v == null) {
                    continue; // reported by everyObjectIsTypedWithNoUnknownField
                }
                problems.addAll(
                        schemaProblems(
                                g.getKind() + " " + g.getMetadata().getName(),
                                v.getSchema().getOpenAPIV3Schema().getProperties().get("spec"),
                                g.getAdditionalProperties().get("spec")));
            }
        }
        assertThat(problems).as(overlay).isEmpty();
        List<GenericKubernetesResource> ids =
                r.all(GenericKubernetesResource.class).stream()
                        .filter(g -> g.getKind().equals("ClusterSPIFFEID"))
                        .toList();
        // The default, and in the cluster with the mesh the ingress gateway's (the same ID with
        // the DNS name clients verify); ManifestsOnApiServerTest checks that no pod gets two.
        assertThat(ids.stream().map(g -> g.getMetadata().getName()).toList())
                .containsExactlyInAnyOrderElementsOf(
                        overlay.equals("cluster2")
                                ? List.of("default", "istio-ingressgateway")
                                : List.of("default"));
        for (GenericKubernetesResource id : ids) {
            assertThat(
                            ((Map<?, ?>) id.getAdditionalProperties().get("spec"))
                                    .get("spiffeIDTemplate"))
                    .as(id.getMetadata().getName())
                    .isEqualTo(
                            "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}");
        }
    }

    /**
     * Every file in every ConfigMap, read by the parser of the program that reads it, after {@code
     * -expandEnv} with the environment of each container that mounts it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void configMapsParseWithTheProjectsOwnParsers(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        Set<String> checked = new java.util.TreeSet<>();
        List<Object> parsed = new ArrayList<>();
        for (ConfigMap cm : r.all(ConfigMap.class)) {
            Map<String, String> data =
                    cm.getData() == null ? Map.of() : new TreeMap<>(cm.getData());
            String where =
                    overlay
                            + ": ConfigMap "
                            + cm.getMetadata().getNamespace()
                            + "/"
                            + cm.getMetadata().getName();
            List<Path> meshFiles = new ArrayList<>();
            for (Map.Entry<String, String> e : data.entrySet()) {
                String key = e.getKey();
                if (key.endsWith(".conf")) {
                    List<RenderedManifests.Consumer> consumers = r.consumersOf(cm);
                    assertThat(consumers).as(where + " is mounted by no container").isNotEmpty();
                    for (RenderedManifests.Consumer c : consumers) {
                        boolean expand = c.container().getArgs().contains("-expandEnv");
                        Map<String, String> env =
                                expand ? r.environmentOf(c.pod(), c.container()) : Map.of();
                        String text = expand ? Hcl.expandEnv(e.getValue(), env) : e.getValue();
                        String name =
                                where
                                        + " "
                                        + key
                                        + " (as "
                                        + c.pod().name()
                                        + " container "
                                        + c.container().getName()
                                        + " reads it)";
                        parsed.add(parseConfig(key, text, name));
                        checked.add(cm.getMetadata().getName() + "/" + key);
                    }
                } else if (key.endsWith(".yaml") && e.getValue().contains("istio.io/")) {
                    Path f =
                            Files.createDirectories(
                                            tmp.resolve(overlay + "-" + cm.getMetadata().getName()))
                                    .resolve(key);
                    Files.writeString(f, e.getValue());
                    meshFiles.add(f);
                    checked.add(cm.getMetadata().getName() + "/" + key);
                } else if (!key.equals("CLUSTER_NAME")) {
                    fail(where + ": key " + key + " is checked by nothing; add its parser here");
                }
            }
            if (!meshFiles.isEmpty()) {
                MeshYaml.Result result = MeshYaml.parseFiles(meshFiles);
                assertThat(result.errors()).as(where).isEmpty();
                assertThat(result.resources()).as(where).isNotEmpty();
            }
        }
        // The registrar talks to this cluster's server, under this cluster's name.
        String clusterName =
                r.configMap("spire", "spire-cluster").orElseThrow().getData().get("CLUSTER_NAME");
        assertThat(clusterName).isEqualTo(overlay);
        List<String> registrar =
                commandLines(r).entrySet().stream()
                        .filter(e -> e.getValue().get(0).equals("registrar"))
                        .map(Map.Entry::getValue)
                        .findFirst()
                        .orElseThrow();
        assertThat(registrar).containsSubsequence("-clusterName", clusterName);
        for (Object p : parsed) {
            if (p instanceof io.mithril.server.config.ServerConfig server) {
                assertThat(registrar)
                        .containsSubsequence("-socketPath", server.socketPath().toString());
                assertThat(registrar)
                        .containsSubsequence("-trustDomain", server.trustDomain().name());
            }
        }
        assertThat(checked)
                .as(overlay)
                .contains("spire-server/server.conf", "spire-agent/agent.conf");
        if (overlay.equals("cluster2")) {
            assertThat(checked).contains("istiod/controlplane.conf");
        }
    }

    /**
     * Every command line the manifests give this image (args after the entrypoint, or a command at
     * SPIRE's paths), with {@code $(VAR)} expanded as the kubelet does, parsed by the CLI's own
     * parser: unknown commands, flags and bad values fail here, not in a crash-looping pod.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void everyCommandLineParsesWithTheCli(String overlay) throws Exception {
        Map<String, List<String>> lines = commandLines(render(overlay));
        assertThat(lines).hasSizeGreaterThanOrEqualTo(overlay.equals("cluster1") ? 5 : 16);
        for (Map.Entry<String, List<String>> e : lines.entrySet()) {
            try {
                io.mithril.cli.Main.newCommandLine().parseArgs(e.getValue().toArray(String[]::new));
            } catch (picocli.CommandLine.ParameterException ex) {
                fail(
                        overlay
                                + ": "
                                + e.getKey()
                                + ": mithril "
                                + String.join(" ", e.getValue())
                                + ": "
                                + ex.getMessage());
            }
        }
    }

    @Test
    void aMistypedFlagIsRefusedByTheCli() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                io.mithril.cli.Main.newCommandLine()
                                        .parseArgs(
                                                "proxy",
                                                "sidecar",
                                                "-inbund",
                                                "0.0.0.0:9080=127.0.0.1:19080"))
                .isInstanceOf(picocli.CommandLine.ParameterException.class);
    }

    /** The mithril command line of each container of this image, by container. */
    static Map<String, List<String>> commandLines(RenderedManifests r) throws Exception {
        String image = builtImage();
        Map<String, List<String>> lines = new java.util.LinkedHashMap<>();
        for (RenderedManifests.Pod pod : r.pods()) {
            for (Container c : pod.allContainers()) {
                if (!image.equals(c.getImage())) {
                    continue;
                }
                List<String> argv = new ArrayList<>();
                List<String> command = c.getCommand();
                if (!command.isEmpty()) {
                    String prefix =
                            switch (command.get(0)) {
                                case "/opt/spire/bin/spire-server" -> "server";
                                case "/opt/spire/bin/spire-agent" -> "agent";
                                case "/opt/mithril/bin/mithril", "mithril" -> null;
                                default ->
                                        throw new AssertionError(
                                                pod.name()
                                                        + " container "
                                                        + c.getName()
                                                        + ": command "
                                                        + command.get(0)
                                                        + " is not one of the image's commands");
                            };
                    if (prefix != null) {
                        argv.add(prefix);
                    }
                    argv.addAll(command.subList(1, command.size()));
                }
                Map<String, String> env = r.environmentOf(pod, c);
                for (String a : c.getArgs()) {
                    java.util.regex.Matcher m =
                            java.util.regex.Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_]*)\\)")
                                    .matcher(a);
                    StringBuilder sb = new StringBuilder();
                    while (m.find()) {
                        String v = env.get(m.group(1));
                        assertThat(v)
                                .as(
                                        pod.name()
                                                + " container "
                                                + c.getName()
                                                + ": $("
                                                + m.group(1)
                                                + ") is not in its environment")
                                .isNotNull();
                        m.appendReplacement(sb, java.util.regex.Matcher.quoteReplacement(v));
                    }
                    m.appendTail(sb);
                    argv.add(sb.toString());
                }
                lines.put(pod.name() + " container " + c.getName(), argv);
            }
        }
        return lines;
    }

    private Object parseConfig(String key, String text, String name) throws Exception {
        switch (key) {
            case "server.conf":
                return ServerConfigParser.parse(text, name);
            case "agent.conf":
                return AgentConfigParser.parse(text, name);
            case "controlplane.conf":
                Path f = Files.createTempFile(tmp, "controlplane", ".conf");
                Files.writeString(f, text);
                return ControlPlaneConfig.load(f);
            default:
                return fail(name + ": no parser known for " + key);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void everyImageIsTheOneTheBuildMakes(String overlay) throws Exception {
        String image = builtImage();
        assertThat(image).startsWith("mithril:").doesNotContain("${");
        RenderedManifests r = render(overlay);
        List<String> seen = new ArrayList<>();
        for (RenderedManifests.Pod pod : r.pods()) {
            for (Container c : pod.allContainers()) {
                String where = pod.name() + " container " + c.getName();
                seen.add(where);
                if (pod.owner().getMetadata().getName().equals("sleep")
                        && c.getName().equals("curl")) {
                    assertThat(c.getImage()).as(where).isEqualTo(CURL_IMAGE);
                } else {
                    assertThat(c.getImage()).as(where).isEqualTo(image);
                }
                // A tarball loaded into the node is used as it is, never pulled.
                assertThat(c.getImagePullPolicy()).as(where).isEqualTo("IfNotPresent");
            }
        }
        assertThat(seen).hasSizeGreaterThanOrEqualTo(overlay.equals("cluster1") ? 5 : 17);
    }

    /**
     * The image's promises kept by the manifests: a read-only root with an emptyDir on /tmp (the
     * JVM unpacks the native libraries of Netty, SQLite and the crypto providers there), no
     * privilege escalation, no capabilities, requests and limits on every container.
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void everyContainerHasAReadOnlyRootATmpAndLimits(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        for (RenderedManifests.Pod pod : r.pods()) {
            for (Container c : pod.allContainers()) {
                String where = overlay + ": " + pod.name() + " container " + c.getName();
                assertThat(c.getSecurityContext()).as(where).isNotNull();
                assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).as(where).isTrue();
                assertThat(c.getSecurityContext().getAllowPrivilegeEscalation())
                        .as(where)
                        .isFalse();
                assertThat(c.getSecurityContext().getCapabilities().getDrop())
                        .as(where)
                        .containsExactly("ALL");
                assertThat(c.getResources().getRequests()).as(where).containsKeys("cpu", "memory");
                assertThat(c.getResources().getLimits()).as(where).containsKey("memory");
                if (!c.getImage().equals(CURL_IMAGE)) {
                    String tmpVolume =
                            c.getVolumeMounts().stream()
                                    .filter(m -> m.getMountPath().equals("/tmp"))
                                    .map(m -> m.getName())
                                    .findFirst()
                                    .orElse(null);
                    assertThat(tmpVolume).as(where + ": /tmp").isNotNull();
                    Volume v =
                            pod.spec().getVolumes().stream()
                                    .filter(x -> x.getName().equals(tmpVolume))
                                    .findFirst()
                                    .orElseThrow();
                    assertThat(v.getEmptyDir()).as(where + ": /tmp is an emptyDir").isNotNull();
                }
            }
        }
    }

    /**
     * The agent DaemonSet of an overlay, its agent container, and its agent.conf as that container
     * reads it.
     */
    record Agent(
            RenderedManifests.Pod pod,
            Container container,
            io.mithril.agent.config.AgentConfig config) {
        Volume volumeAt(String mountPath) {
            String name =
                    container.getVolumeMounts().stream()
                            .filter(m -> m.getMountPath().equals(mountPath))
                            .map(m -> m.getName())
                            .findFirst()
                            .orElse(null);
            assertThat(name).as(pod.name() + ": nothing mounted at " + mountPath).isNotNull();
            return pod.spec().getVolumes().stream()
                    .filter(v -> v.getName().equals(name))
                    .findFirst()
                    .orElseThrow();
        }
    }

    static Agent agent(RenderedManifests r) throws Exception {
        RenderedManifests.Pod pod =
                r.pods().stream()
                        .filter(p -> p.name().equals("DaemonSet spire/spire-agent"))
                        .findFirst()
                        .orElseThrow();
        Container c =
                pod.spec().getContainers().stream()
                        .filter(x -> x.getName().equals("spire-agent"))
                        .findFirst()
                        .orElseThrow();
        String text = r.configMap("spire", "spire-agent").orElseThrow().getData().get("agent.conf");
        return new Agent(
                pod,
                c,
                AgentConfigParser.parse(
                        Hcl.expandEnv(text, r.environmentOf(pod, c)), "agent.conf"));
    }

    /**
     * The agent sends its service-account token to the kubelet only after checking the kubelet's
     * serving certificate: verification on, the trust anchor the kubelet's own certificate file
     * mounted from the node, the kubelet reached on 127.0.0.1 (no node name that DNS would
     * resolve).
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void theAgentVerifiesTheKubeletBeforeSendingItsToken(String overlay) throws Exception {
        Agent a = agent(render(overlay));
        io.mithril.agent.config.K8sWorkloadAttestorConfig k8s = a.config().k8s();
        assertThat(k8s).as(overlay + ": WorkloadAttestor k8s").isNotNull();
        assertThat(k8s.secure()).isTrue();
        assertThat(k8s.skipKubeletVerification()).as("skip_kubelet_verification").isFalse();
        assertThat(k8s.nodeName()).as("the kubelet is 127.0.0.1").isEmpty();
        assertThat(a.pod().spec().getHostNetwork()).isTrue();
        assertThat(r(overlay).environmentOf(a.pod(), a.container()))
                .doesNotContainKey(
                        io.mithril.agent.config.K8sWorkloadAttestorConfig.DEFAULT_NODE_NAME_ENV);
        Volume ca = a.volumeAt(k8s.kubeletCaPath().toString());
        assertThat(ca.getHostPath()).as("kubelet_ca_path comes from the node").isNotNull();
        assertThat(ca.getHostPath().getPath()).isEqualTo("/var/lib/kubelet/pki/kubelet.crt");
        assertThat(ca.getHostPath().getType()).isEqualTo("File");
    }

    private static RenderedManifests r(String overlay) throws Exception {
        return render(overlay);
    }

    /**
     * The injector's {@code spire} template gives the sidecar the socket the deployed agent serves,
     * as the hand-written sidecars of bookinfo have it: the same host directory, mount path and
     * {@code -socketPath}.
     */
    @Test
    void theInjectorsSocketIsTheDeployedAgents() throws Exception {
        RenderedManifests r = render("cluster2");
        Agent agent = agent(r);
        Path socket = agent.config().socketPath();
        Volume agentDir = agent.volumeAt(socket.getParent().toString());
        assertThat(agentDir.getHostPath()).isNotNull();

        // A bookinfo pod as a user would write it without the sidecar, through the injector.
        RenderedManifests.Pod productpage =
                r.pods().stream()
                        .filter(p -> p.name().equals("Deployment default/productpage-v1"))
                        .findFirst()
                        .orElseThrow();
        Container deployedSidecar =
                productpage.spec().getContainers().stream()
                        .filter(c -> c.getName().equals("istio-proxy"))
                        .findFirst()
                        .orElseThrow();
        io.fabric8.kubernetes.api.model.PodSpec plain =
                new io.fabric8.kubernetes.api.model.PodSpecBuilder(productpage.spec())
                        .withContainers(
                                productpage.spec().getContainers().stream()
                                        .filter(c -> !c.getName().equals("istio-proxy"))
                                        .toList())
                        .withVolumes(
                                productpage.spec().getVolumes().stream()
                                        .filter(v -> v.getHostPath() == null)
                                        .toList())
                        .build();
        tools.jackson.databind.ObjectMapper json = new tools.jackson.databind.ObjectMapper();
        tools.jackson.databind.node.ObjectNode review =
                json.createObjectNode()
                        .put("apiVersion", "admission.k8s.io/v1")
                        .put("kind", "AdmissionReview");
        tools.jackson.databind.node.ObjectNode req =
                review.putObject("request")
                        .put("uid", "1")
                        .put("namespace", "default")
                        .put("operation", "CREATE");
        req.putObject("kind").put("group", "").put("version", "v1").put("kind", "Pod");
        tools.jackson.databind.node.ObjectNode pod = req.putObject("object");
        pod.putObject("metadata")
                .put("namespace", "default")
                .put("name", "productpage-v1-x")
                .putObject("annotations")
                .put("inject.istio.io/templates", "sidecar,spire");
        ((tools.jackson.databind.node.ObjectNode) pod.path("metadata"))
                .putObject("labels")
                .put("sidecar.istio.io/inject", "true");
        pod.set("spec", json.readTree(RenderedManifests.SERIALIZATION.asJson(plain)));
        io.mithril.k8s.inject.SidecarInjector injector =
                new io.mithril.k8s.inject.SidecarInjector(
                        new io.mithril.k8s.inject.SidecarInjector.Settings(
                                builtImage(),
                                "istiod.istio-system.svc:15012",
                                "spiffe://example.org/ns/istio-system/sa/istiod",
                                "example.org"),
                        ns -> Map.of());
        tools.jackson.databind.JsonNode response =
                json.readTree(injector.review(json.writeValueAsBytes(review))).path("response");
        assertThat(response.has("patch")).as(response.toString()).isTrue();
        tools.jackson.databind.JsonNode injected =
                io.fabric8.zjsonpatch.JsonPatch.apply(
                        json.readTree(
                                java.util.Base64.getDecoder()
                                        .decode(response.path("patch").asString())),
                        pod);
        io.fabric8.kubernetes.api.model.PodSpec spec =
                RenderedManifests.SERIALIZATION.unmarshal(
                        injected.path("spec").toString(),
                        io.fabric8.kubernetes.api.model.PodSpec.class);
        Container sidecar =
                spec.getContainers().stream()
                        .filter(c -> c.getName().equals("istio-proxy"))
                        .findFirst()
                        .orElseThrow();

        for (Container c : List.of(sidecar, deployedSidecar)) {
            String where = c == sidecar ? "the injected sidecar" : "bookinfo's sidecar";
            List<String> args = c.getArgs();
            assertThat(args).as(where).containsSubsequence("-socketPath", socket.toString());
            io.fabric8.kubernetes.api.model.VolumeMount m =
                    c.getVolumeMounts().stream()
                            .filter(x -> x.getMountPath().equals(socket.getParent().toString()))
                            .findFirst()
                            .orElse(null);
            assertThat(m)
                    .as(
                            where
                                    + ": the agent's socket directory "
                                    + socket.getParent()
                                    + " is not mounted")
                    .isNotNull();
            List<Volume> volumes =
                    c == sidecar ? spec.getVolumes() : productpage.spec().getVolumes();
            Volume v =
                    volumes.stream()
                            .filter(x -> x.getName().equals(m.getName()))
                            .findFirst()
                            .orElseThrow();
            assertThat(v.getHostPath()).as(where).isNotNull();
            assertThat(v.getHostPath().getPath())
                    .as(where + ": host directory")
                    .isEqualTo(agentDir.getHostPath().getPath());
        }
    }

    /**
     * The control plane is fed by the Kubernetes API: it runs with {@code -kubernetes}, its {@code
     * config_dir} is writable (an emptyDir, where the mirror writes), and its service account may
     * get, list and watch every kind the mirror watches (Istio's kinds, Services, EndpointSlices,
     * Pods) and nothing more; the Istio objects it will read are a valid set.
     */
    @Test
    void theControlPlaneReadsTheKubernetesApiWithTheRbacItNeeds() throws Exception {
        RenderedManifests r = render("cluster2");
        RenderedManifests.Pod istiod =
                r.pods().stream()
                        .filter(p -> p.name().equals("Deployment istio-system/istiod"))
                        .findFirst()
                        .orElseThrow();
        Container c = istiod.spec().getContainers().get(0);
        assertThat(c.getArgs()).containsSubsequence("controlplane", "run").contains("-kubernetes");
        Path conf = Files.createTempFile(tmp, "controlplane", ".conf");
        Files.writeString(
                conf,
                r.configMap("istio-system", "istiod")
                        .orElseThrow()
                        .getData()
                        .get("controlplane.conf"));
        Path configDir = ControlPlaneConfig.load(conf).configDir();
        String mesh =
                c.getVolumeMounts().stream()
                        .filter(m -> m.getMountPath().equals(configDir.toString()))
                        .map(
                                m -> {
                                    assertThat(m.getReadOnly())
                                            .as("config_dir is written by the mirror")
                                            .isNotEqualTo(Boolean.TRUE);
                                    return m.getName();
                                })
                        .findFirst()
                        .orElseThrow(
                                () ->
                                        new AssertionError(
                                                "config_dir " + configDir + " is not a volume"));
        assertThat(
                        istiod.spec().getVolumes().stream()
                                .filter(v -> v.getName().equals(mesh))
                                .findFirst()
                                .orElseThrow()
                                .getEmptyDir())
                .isNotNull();

        List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rules =
                rulesBoundTo(r, "istio-system", istiod.spec().getServiceAccountName());
        List<String[]> watched = new ArrayList<>();
        for (var ctx : io.mithril.controlplane.k8s.KubernetesConfigMirror.RESOURCES) {
            watched.add(new String[] {ctx.getGroup(), ctx.getPlural()});
        }
        watched.add(new String[] {"", "services"});
        watched.add(new String[] {"", "pods"});
        watched.add(new String[] {"discovery.k8s.io", "endpointslices"});
        assertMayWatch("istiod", rules, watched);
        assertThat(rules)
                .allSatisfy(
                        rule ->
                                assertThat(rule.getVerbs())
                                        .as("read-only")
                                        .isSubsetOf("get", "list", "watch"));

        List<Path> istio = new ArrayList<>();
        for (GenericKubernetesResource g : r.all(GenericKubernetesResource.class)) {
            if (g.getApiVersion().contains("istio.io/")) {
                Path f = tmp.resolve("istio-" + istio.size() + ".yaml");
                Files.writeString(f, RenderedManifests.SERIALIZATION.asYaml(g));
                istio.add(f);
            }
        }
        MeshYaml.Result set = MeshYaml.parseFiles(istio);
        assertThat(set.errors()).isEmpty();
        assertThat(set.resources())
                .extracting(x -> x.getClass().getSimpleName())
                .contains("Gateway", "VirtualService", "DestinationRule");
    }

    /** The registrar's service account may watch every kind its informers watch. */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void theRegistrarMayWatchWhatItReads(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        RenderedManifests.Pod server =
                r.pods().stream()
                        .filter(
                                p ->
                                        p.spec().getContainers().stream()
                                                .anyMatch(c -> c.getName().equals("registrar")))
                        .findFirst()
                        .orElseThrow();
        List<String[]> watched =
                new ArrayList<>(
                        List.of(
                                new String[] {"", "pods"},
                                new String[] {"", "nodes"},
                                new String[] {"", "namespaces"}));
        for (var ctx :
                List.of(
                        io.mithril.server.registrar.Registrar.CLUSTER_SPIFFE_ID,
                        io.mithril.server.registrar.Registrar.CLUSTER_STATIC_ENTRY)) {
            watched.add(new String[] {ctx.getGroup(), ctx.getPlural()});
            assertThat(crdServing(r, ctx.getGroup() + "/" + ctx.getVersion(), ctx.getKind()))
                    .as(ctx.getKind() + " CRD")
                    .isNotNull();
        }
        assertMayWatch(
                "the registrar",
                rulesBoundTo(
                        r,
                        server.owner().getMetadata().getNamespace(),
                        server.spec().getServiceAccountName()),
                watched);
    }

    private static List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rulesBoundTo(
            RenderedManifests r, String namespace, String sa) {
        List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rules = new ArrayList<>();
        for (var b : r.all(io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding.class)) {
            boolean bound =
                    b.getSubjects().stream()
                            .anyMatch(
                                    s ->
                                            s.getKind().equals("ServiceAccount")
                                                    && s.getName().equals(sa)
                                                    && s.getNamespace().equals(namespace));
            if (bound) {
                r.all(io.fabric8.kubernetes.api.model.rbac.ClusterRole.class).stream()
                        .filter(cr -> cr.getMetadata().getName().equals(b.getRoleRef().getName()))
                        .forEach(cr -> rules.addAll(cr.getRules()));
            }
        }
        return rules;
    }

    private static void assertMayWatch(
            String who,
            List<io.fabric8.kubernetes.api.model.rbac.PolicyRule> rules,
            List<String[]> kinds) {
        for (String[] w : kinds) {
            boolean allowed =
                    rules.stream()
                            .anyMatch(
                                    rule ->
                                            rule.getApiGroups().contains(w[0])
                                                    && rule.getResources().contains(w[1])
                                                    && rule.getVerbs()
                                                            .containsAll(
                                                                    List.of(
                                                                            "get", "list",
                                                                            "watch")));
            assertThat(allowed).as(who + " may get, list and watch " + w[1] + "." + w[0]).isTrue();
        }
    }

    /**
     * Probes use the health endpoints, never a TCP check: every proxy's readiness probe is Istio's
     * {@code /healthz/ready} on the port its {@code -statusPort} binds (15021), the control plane's
     * istiod's {@code /ready} on its {@code -httpAddr} port (8080).
     */
    @ParameterizedTest
    @ValueSource(strings = {"cluster1", "cluster2"})
    void probesUseTheHealthEndpoints(String overlay) throws Exception {
        RenderedManifests r = render(overlay);
        Map<String, List<String>> lines = commandLines(r);
        int proxies = 0;
        for (RenderedManifests.Pod pod : r.pods()) {
            for (Container c : pod.allContainers()) {
                String where = overlay + ": " + pod.name() + " container " + c.getName();
                for (io.fabric8.kubernetes.api.model.Probe p :
                        java.util.Arrays.asList(
                                c.getReadinessProbe(), c.getLivenessProbe(), c.getStartupProbe())) {
                    if (p != null) {
                        assertThat(p.getTcpSocket()).as(where + ": a TCP probe").isNull();
                        assertThat(p.getHttpGet()).as(where + ": an HTTP probe").isNotNull();
                    }
                }
                List<String> argv = lines.get(pod.name() + " container " + c.getName());
                if (argv == null || argv.size() < 2) {
                    continue;
                }
                String flag =
                        argv.get(0).equals("proxy")
                                ? "-statusPort"
                                : argv.subList(0, 2).equals(List.of("controlplane", "run"))
                                        ? "-httpAddr"
                                        : null;
                if (flag == null) {
                    continue;
                }
                String path = flag.equals("-statusPort") ? "/healthz/ready" : "/ready";
                assertThat(argv).as(where).contains(flag);
                String bound = argv.get(argv.indexOf(flag) + 1);
                int port = Integer.parseInt(bound.substring(bound.lastIndexOf(':') + 1));
                io.fabric8.kubernetes.api.model.Probe ready = c.getReadinessProbe();
                assertThat(ready).as(where + ": readiness probe").isNotNull();
                assertThat(ready.getHttpGet().getPath()).as(where).isEqualTo(path);
                String named = ready.getHttpGet().getPort().getStrVal();
                int probed =
                        named == null
                                ? ready.getHttpGet().getPort().getIntVal()
                                : c.getPorts().stream()
                                        .filter(x -> named.equals(x.getName()))
                                        .findFirst()
                                        .orElseThrow()
                                        .getContainerPort();
                assertThat(probed)
                        .as(where + ": the probe's port is the one " + flag + " binds")
                        .isEqualTo(port);
                proxies++;
            }
        }
        assertThat(proxies).as(overlay).isEqualTo(overlay.equals("cluster2") ? 8 : 0);
    }

    /** The seed's Gateway, VirtualService and DestinationRule are the demo's, byte for byte. */
    @Test
    void seedIngressConfigurationIsTheDemos() throws IOException {
        assertThat(withoutComments(DEPLOY.resolve("bookinfo/bookinfo-gateway.yaml")))
                .isEqualTo(
                        withoutComments(
                                REPO.resolve("examples/two-clusters/mesh/bookinfo-gateway.yaml")));
    }

    private static String withoutComments(Path p) throws IOException {
        return String.join(
                "\n",
                Files.readAllLines(p, StandardCharsets.UTF_8).stream()
                        .filter(l -> !l.startsWith("#"))
                        .toList());
    }

    private static CustomResourceDefinitionVersion crdServing(
            RenderedManifests r, String apiVersion, String kind) {
        int slash = apiVersion.indexOf('/');
        if (slash < 0) {
            return null;
        }
        String group = apiVersion.substring(0, slash);
        String version = apiVersion.substring(slash + 1);
        for (CustomResourceDefinition crd : r.all(CustomResourceDefinition.class)) {
            if (crd.getSpec().getGroup().equals(group)
                    && crd.getSpec().getNames().getKind().equals(kind)) {
                for (CustomResourceDefinitionVersion v : crd.getSpec().getVersions()) {
                    if (v.getName().equals(version) && Boolean.TRUE.equals(v.getServed())) {
                        return v;
                    }
                }
            }
        }
        return null;
    }

    /**
     * Keys the CRD's schema does not declare (where it does not keep unknown fields), and missing
     * required ones.
     */
    private static List<String> schemaProblems(String where, JSONSchemaProps schema, Object value) {
        List<String> problems = new ArrayList<>();
        if (schema == null
                || !(value instanceof Map<?, ?> map)
                || Boolean.TRUE.equals(schema.getXKubernetesPreserveUnknownFields())
                || schema.getProperties() == null
                || schema.getProperties().isEmpty()) {
            return problems;
        }
        for (Object k : map.keySet()) {
            if (!schema.getProperties().containsKey(k.toString())) {
                problems.add(
                        where + ": spec." + k + " is not in the CustomResourceDefinition's schema");
            }
        }
        for (String req : schema.getRequired()) {
            if (!map.containsKey(req)) {
                problems.add(
                        where + ": spec." + req + " is required by the CustomResourceDefinition");
            }
        }
        return problems;
    }
}
