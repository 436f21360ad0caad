package io.mithril.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.mithril.agent.Agent;
import io.mithril.agent.config.AgentConfig;
import io.mithril.agent.config.AgentConfigParser;
import io.mithril.hcl.Hcl;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.server.IdentityServer;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import io.mithril.server.registrar.Registrar;
import io.mithril.spiffe.id.TrustDomain;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seed's scenario in Kubernetes, "as the manifests say", as far as one host allows: two
 * clusters, each a fabric8 mock API server (CRUD mode) holding every object {@code kubectl
 * kustomize deploy/kubernetes/overlays/clusterN} renders, sharing one upstream CA made with {@code
 * openssl}. In each: the identity server and the agent run (in this JVM) from the rendered {@code
 * server.conf} and {@code agent.conf}; the agent attests with {@code k8s_psat} (its projected
 * token, authenticated by the mock's TokenReview), bootstraps from the {@code spire-bundle}
 * ConfigMap the server's {@code k8sbundle} Notifier wrote, and attests workloads with the {@code
 * k8s} attestor (real processes whose pids map to pods through cgroup files written here, and a
 * local HTTPS "kubelet" serving the pods JSON); the registrar makes the entries from the Pod
 * objects and the rendered ClusterSPIFFEID. In cluster 2 every container of the mesh (istiod with
 * {@code -kubernetes} reading the seed's Gateway, VirtualService and DestinationRule from the API,
 * the ingress gateway, bookinfo's apps and sidecars) runs as its own process with the command line
 * its manifest gives; in cluster 1 sleep's init container and the seed's {@code api fetch x509
 * -write} run as sleep's processes. Then the real curl, with sleep's SVID, through cluster 2's
 * ISTIO_MUTUAL ingress gateway returns the product page.
 *
 * <p>What cannot hold on one host is rewritten by {@link ManifestSubstitutions}, each rewrite
 * listed in docs/kubernetes.md; a rewrite that no longer applies fails the test.
 */
class KubernetesScenarioIT {

    private static final Path REPO = ManifestsTest.REPO;
    private static final String SOCKET_DIR = "/run/secrets/workload-spiffe-uds";

    /**
     * How long a pod may take to become ready: 15 JVMs start at once, which on a busy 2-core
     * machine takes minutes.
     */
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(4);

    /**
     * The pods' loopback network, {@code 127.<run>.}: another run of this test on the same machine
     * (pods bind their manifests' fixed ports) picks another.
     */
    private static final String NET =
            "127." + (16 + new java.security.SecureRandom().nextInt(224)) + ".";

    @TempDir Path tmp;

    private final List<AutoCloseable> closers = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final Map<String, Path> logs = new LinkedHashMap<>();

    /** A running pod: the object in the API server and its containers' IDs. */
    record RunningPod(Pod pod, Map<String, String> containerIds) {
        String ip() {
            return pod.getStatus().getPodIP();
        }

        String uid() {
            return pod.getMetadata().getUid();
        }

        String name() {
            return pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName();
        }
    }

    /** One cluster: its API server, identity server, agent, registrar and pods. */
    record Cluster(
            String name,
            int index,
            RenderedManifests r,
            MockKubernetes k8s,
            Path dir,
            Path socketDir,
            Path procRoot,
            IdentityServer server,
            Agent agent,
            AdminClient admin,
            List<RunningPod> pods) {
        RunningPod pod(String prefix) {
            return pods.stream()
                    .filter(p -> p.pod().getMetadata().getName().startsWith(prefix))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(name + ": no pod " + prefix));
        }
    }

    @AfterEach
    void stopEverything() throws Exception {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        for (int i = closers.size() - 1; i >= 0; i--) {
            try {
                closers.get(i).close();
            } catch (Exception e) {
                // keep closing the rest
            }
        }
    }

    @Test
    void theSeedsCurlThroughTheIngressGatewayReturnsTheProductPage() throws Exception {
        assertThat(Path.of(REPO.toString(), "mithril-cli/target/mithril-cli.jar"))
                .as("the distribution (mvn verify packages mithril-cli before this test)")
                .isRegularFile();
        Path upstream = upstreamCa();
        Cluster c1 = startCluster("cluster1", 1, upstream);
        Cluster c2 = startCluster("cluster2", 2, upstream);

        // Cluster 2: istiod first (the proxies' control plane), then every other mesh container.
        RunningPod istiod = c2.pod("istiod-");
        Map<String, List<String>> lines = ManifestsTest.commandLines(c2.r());
        startContainers(c2, istiod, lines, istiod);
        awaitHttp200(
                "istiod's readiness probe (GET /ready)",
                "http://" + istiod.ip() + ":8080/ready",
                READY_TIMEOUT);
        List<RunningPod> mesh = new ArrayList<>();
        for (RunningPod p : c2.pods()) {
            if (p != istiod) {
                startContainers(c2, p, lines, istiod);
                mesh.add(p);
            }
        }
        for (RunningPod p : mesh) {
            awaitHttp200(
                    p.name() + "'s readiness probe (GET /healthz/ready on the status port)",
                    "http://" + p.ip() + ":15021/healthz/ready",
                    READY_TIMEOUT);
        }

        // Cluster 1: sleep's init container as its manifest says, then the seed's
        // `api fetch x509 -write` from inside the sleep container.
        RunningPod sleep = c1.pod("sleep-");
        Map<String, List<String>> lines1 = ManifestsTest.commandLines(c1.r());
        Path sleepCerts = Files.createDirectories(tmp.resolve("cluster1/pods/sleep-certs"));
        List<String> init =
                lines1.get("Deployment default/sleep container fetch-svid").stream()
                        .map(a -> a.equals("/sleep-certs") ? sleepCerts.toString() : a)
                        .toList();
        assertThat(run(c1, sleep, "fetch-svid", podRewrites(c1, sleep, null).apply(init)))
                .contains("spiffe://example.org/ns/default/sa/sleep");
        assertThat(sleepCerts.resolve("svid.0.pem")).isRegularFile();
        Path sleepTmp = Files.createDirectories(tmp.resolve("cluster1/pods/sleep-tmp"));
        // The README's `kubectl exec ... -c sleep -- mithril agent api fetch x509 -socketPath
        // /run/secrets/workload-spiffe-uds/socket -write /tmp/`.
        String fetched =
                run(
                        c1,
                        sleep,
                        "sleep",
                        List.of(
                                "agent",
                                "api",
                                "fetch",
                                "x509",
                                "-socketPath",
                                c1.socketDir().resolve("socket").toString(),
                                "-write",
                                sleepTmp + "/"));
        assertThat(fetched).contains("spiffe://example.org/ns/default/sa/sleep");

        // The seed's curl (real curl, real TLS) from cluster 1 to cluster 2's gateway.
        RunningPod gateway = c2.pod("istio-ingressgateway-");
        List<String> curl =
                List.of(
                        "curl",
                        "-sS",
                        "--max-time",
                        "30",
                        "--cert",
                        sleepTmp.resolve("svid.0.pem").toString(),
                        "--key",
                        sleepTmp.resolve("svid.0.key").toString(),
                        "--cacert",
                        sleepTmp.resolve("bundle.0.pem").toString(),
                        "--resolve",
                        "app.example.org:8080:" + gateway.ip(),
                        "-w",
                        "\nHTTP_CODE=%{http_code}",
                        "https://app.example.org:8080/productpage");
        String page = exec(curl);
        assertThat(page)
                .as("curl through the ingress gateway; logs:%n%s", logTails())
                .contains("HTTP_CODE=200")
                .contains("The Comedy of Errors")
                .contains("Reviews");
        // Without sleep's certificate the ISTIO_MUTUAL gateway refuses the handshake.
        List<String> noCert = new ArrayList<>(curl);
        int i = noCert.indexOf("--cert");
        noCert.subList(i, i + 4).clear();
        assertThat(exec(noCert)).doesNotContain("HTTP_CODE=200");

        // One entry per pod, none for the spire namespace's (the agent's pod is there).
        for (Cluster c : List.of(c1, c2)) {
            List<String> ids =
                    c
                            .admin()
                            .admin()
                            .listEntries(
                                    io.mithril.api.admin.ListEntriesRequest.getDefaultInstance())
                            .getEntriesList()
                            .stream()
                            .map(io.mithril.api.types.Entry::getSpiffeId)
                            .sorted()
                            .toList();
            List<String> expected =
                    c.pods().stream()
                            .map(
                                    p ->
                                            "spiffe://example.org/ns/"
                                                    + p.pod().getMetadata().getNamespace()
                                                    + "/sa/"
                                                    + p.pod().getSpec().getServiceAccountName())
                            .sorted()
                            .toList();
            assertThat(ids).as(c.name() + ": the registrar's entries").isEqualTo(expected);
        }
    }

    // ---------------------------------------------------------------- one cluster

    private Cluster startCluster(String name, int index, Path upstream) throws Exception {
        RenderedManifests r = ManifestsTest.render(name);
        MockKubernetes k8s = new MockKubernetes();
        closers.add(k8s);
        Map<String, ResourceDefinitionContext> kinds = ManifestsOnApiServerTest.serveCrds(r, k8s);
        ManifestsOnApiServerTest.apply(r, k8s, kinds);
        Path dir = Files.createDirectories(tmp.resolve(name));
        Path kubeconfig = k8s.kubeconfig(dir.resolve("kubeconfig"));
        String hostIp = NET + index + ".1";
        k8s.addNode("node-1", Map.of("kubernetes.io/hostname", "node-1"));

        // The agent's DaemonSet pod, on the host network, and its projected token with the
        // audience its manifest asks for.
        RenderedManifests.Pod agentTemplate = template(r, "DaemonSet spire/spire-agent");
        Pod agentPod =
                k8s.client()
                        .pods()
                        .inNamespace("spire")
                        .resource(
                                new PodBuilder()
                                        .withNewMetadata()
                                        .withNamespace("spire")
                                        .withName("spire-agent-x7k2p")
                                        .withLabels(
                                                ((io.fabric8.kubernetes.api.model.apps.DaemonSet)
                                                                agentTemplate.owner())
                                                        .getSpec()
                                                        .getTemplate()
                                                        .getMetadata()
                                                        .getLabels())
                                        .endMetadata()
                                        .withSpec(agentTemplate.spec())
                                        .editSpec()
                                        .withNodeName("node-1")
                                        .endSpec()
                                        .withNewStatus()
                                        .withPhase("Running")
                                        .withHostIP(hostIp)
                                        .withPodIP(hostIp)
                                        .endStatus()
                                        .build())
                        .create();
        String agentToken = "psat-" + UUID.randomUUID();
        k8s.addToken(
                agentToken,
                new MockKubernetes.Token(
                        "spire",
                        agentPod.getSpec().getServiceAccountName(),
                        agentPod.getMetadata().getName(),
                        agentPod.getMetadata().getUid(),
                        List.of(projectedTokenAudience(agentTemplate))));
        Path tokenFile = dir.resolve("agent-token");
        Files.writeString(tokenFile, agentToken);

        List<Pod> scheduled =
                ManifestsOnApiServerTest.schedulePods(r, k8s, "node-1", NET + index + ".", 10);
        ManifestsOnApiServerTest.createEndpointSlices(r, k8s, scheduled);
        List<RunningPod> pods = new ArrayList<>();
        for (Pod p : scheduled) {
            Map<String, String> ids = new LinkedHashMap<>();
            List<Container> all = new ArrayList<>(p.getSpec().getInitContainers());
            all.addAll(p.getSpec().getContainers());
            for (Container c : all) {
                ids.put(c.getName(), containerId(p.getMetadata().getUid() + "/" + c.getName()));
            }
            pods.add(new RunningPod(p, ids));
        }

        // The identity server from the rendered server.conf.
        Path serverDir = Files.createDirectories(dir.resolve("server"));
        RenderedManifests.Pod serverTemplate = template(r, "StatefulSet spire/spire-server");
        Container serverContainer = container(serverTemplate, "spire-server");
        int serverPort = freePort();
        int serverHealthPort = freePort();
        String serverConf =
                new ManifestSubstitutions(name + " server.conf")
                        .replace(
                                "bind_address = \"0.0.0.0\"",
                                "bind_address = \"127.0.0.1\"",
                                "address")
                        .replace(
                                "bind_port = \"8081\"",
                                "bind_port = \"" + serverPort + "\"",
                                "port")
                        .replace(
                                "bind_port = \"8080\"",
                                "bind_port = \"" + serverHealthPort + "\"",
                                "port: health_checks")
                        .replace(
                                "/tmp/spire-server/private/api.sock",
                                serverDir.resolve("private/api.sock").toString(),
                                "path: the admin socket")
                        .replace(
                                "/run/spire/data/server",
                                serverDir.resolve("data").toString(),
                                "path: the data PVC")
                        .replace(
                                "/run/spire/upstream-ca/",
                                upstream + "/",
                                "path: the Secret upstream-ca")
                        .insertAfterLine(
                                "service_account_allow_list = [\"spire:spire-agent\"]",
                                "kube_config_file = \"" + kubeconfig + "\"",
                                "kubeconfig: k8s_psat reaches the mock API server")
                        .insertAfterLine(
                                "config_map = \"spire-bundle\"",
                                "kube_config_file_path = \"" + kubeconfig + "\"",
                                "kubeconfig: k8sbundle reaches the mock API server")
                        .apply(
                                r.configMap("spire", "spire-server")
                                        .orElseThrow()
                                        .getData()
                                        .get("server.conf"));
        ServerConfig serverConfig =
                ServerConfigParser.parse(
                        Hcl.expandEnv(serverConf, r.environmentOf(serverTemplate, serverContainer)),
                        name + " server.conf");
        IdentityServer server = IdentityServer.start(serverConfig);
        closers.add(server);

        // The bundle the Notifier published, as the agent's pod mounts it.
        Path bundle = dir.resolve("bundle.crt");
        awaitTrue(
                name + ": the k8sbundle Notifier writes the ConfigMap spire/spire-bundle",
                Duration.ofSeconds(30),
                () -> {
                    var cm =
                            k8s.client()
                                    .configMaps()
                                    .inNamespace("spire")
                                    .withName("spire-bundle")
                                    .get();
                    String pem =
                            cm == null || cm.getData() == null
                                    ? null
                                    : cm.getData().get("bundle.crt");
                    if (pem == null || !pem.contains("BEGIN CERTIFICATE")) {
                        return false;
                    }
                    Files.writeString(bundle, pem);
                    return true;
                });

        // The node's kubelet: its pods API over HTTPS with a self-signed serving certificate.
        Path procRoot = Files.createDirectories(dir.resolve("proc"));
        Kubelet kubelet = Kubelet.start(dir.resolve("kubelet"), k8s, "node-1", pods, agentToken);
        closers.add(kubelet);

        // The agent from the rendered agent.conf.
        Path socketDir = Files.createDirectories(dir.resolve("workload-spiffe-uds"));
        Path agentDir = Files.createDirectories(dir.resolve("agent"));
        int agentHealthPort = freePort();
        RenderedManifests.Pod agentPodTemplate = agentTemplate;
        Container agentContainer = container(agentPodTemplate, "spire-agent");
        String agentConf =
                new ManifestSubstitutions(name + " agent.conf")
                        .replace(
                                "data_dir = \"/run/spire/data\"",
                                "data_dir = \"" + agentDir + "\"",
                                "path: data")
                        .replace(
                                "bind_address = \"0.0.0.0\"",
                                "bind_address = \"127.0.0.1\"",
                                "address: health_checks")
                        .replace(
                                "bind_port = \"8080\"",
                                "bind_port = \"" + agentHealthPort + "\"",
                                "port: health_checks")
                        .replace(
                                "server_address = \"spire-server.spire.svc\"",
                                "server_address = \"127.0.0.1\"",
                                "address: the Service spire-server")
                        .replace(
                                "server_port = \"8081\"",
                                "server_port = \"" + serverPort + "\"",
                                "port")
                        .replace(SOCKET_DIR, socketDir.toString(), "path: the socket's hostPath")
                        .replace(
                                "/run/spire/bundle/bundle.crt",
                                bundle.toString(),
                                "path: spire-bundle mount")
                        .replace(
                                "/var/run/secrets/tokens/spire-agent",
                                tokenFile.toString(),
                                "path: projected token")
                        .replace(
                                "/run/spire/kubelet/kubelet.crt",
                                kubelet.certificate().toString(),
                                "path: the node's kubelet.crt")
                        .insertAfterLine(
                                "kubelet_ca_path = ",
                                "kubelet_secure_port = " + kubelet.port(),
                                "port: the kubelet's 10250")
                        .insertAfterLine(
                                "kubelet_ca_path = ",
                                "token_path = \"" + tokenFile + "\"",
                                "path: the service-account token the kubelet client sends, by default"
                                        + " at /var/run/secrets/kubernetes.io/serviceaccount/token")
                        .apply(
                                r.configMap("spire", "spire-agent")
                                        .orElseThrow()
                                        .getData()
                                        .get("agent.conf"));
        AgentConfig agentConfig =
                AgentConfigParser.parse(
                        Hcl.expandEnv(agentConf, r.environmentOf(agentPodTemplate, agentContainer)),
                        name + " agent.conf");
        agentConfig = agentConfig.withK8s(agentConfig.k8s().withProcRoot(procRoot));
        Agent agent = Agent.start(agentConfig);
        closers.add(agent);
        // The probes the manifests give the server and the agent.
        awaitHttp200(
                name + " spire-server's readiness probe",
                "http://127.0.0.1:" + serverHealthPort + "/ready",
                Duration.ofSeconds(60));
        awaitHttp200(
                name + " spire-agent's readiness probe (attested by k8s_psat)",
                "http://127.0.0.1:" + agentHealthPort + "/ready",
                Duration.ofSeconds(60));

        // The registrar with the command line its manifest gives it.
        List<String> registrarArgs =
                ManifestsTest.commandLines(r).entrySet().stream()
                        .filter(e -> e.getValue().get(0).equals("registrar"))
                        .map(Map.Entry::getValue)
                        .findFirst()
                        .orElseThrow();
        TrustDomain td = TrustDomain.parse(flag(registrarArgs, "-trustDomain"));
        AdminClient admin = AdminClient.connect(server.adminSocketPath());
        closers.add(admin);
        Registrar registrar =
                new Registrar(
                        k8s.client(),
                        admin.admin(),
                        new Registrar.Settings(
                                td,
                                flag(registrarArgs, "-clusterName"),
                                "cluster.local",
                                Registrar.Settings.DEFAULT_IGNORE_NAMESPACES,
                                registrarArgs.contains("-usePodUidForAgentId")));
        closers.add(registrar);
        registrar.start();
        return new Cluster(
                name, index, r, k8s, dir, socketDir, procRoot, server, agent, admin, pods);
    }

    // ---------------------------------------------------------------- pods' processes

    /** Rewrites of a pod's command lines and environment: its addresses and mounts. */
    private ManifestSubstitutions podRewrites(Cluster c, RunningPod pod, RunningPod istiod) {
        ManifestSubstitutions s =
                new ManifestSubstitutions(c.name() + " pod " + pod.name())
                        .replace(
                                SOCKET_DIR,
                                c.socketDir().toString(),
                                "path: the socket's hostPath");
        if (istiod != null) {
            s.replace(
                    "istiod.istio-system.svc:",
                    istiod.ip() + ":",
                    "address: the Service istiod (no cluster DNS)");
        }
        return s;
    }

    private void startContainers(
            Cluster c, RunningPod pod, Map<String, List<String>> lines, RunningPod istiod)
            throws Exception {
        String owner = owner(pod);
        for (Container container : pod.pod().getSpec().getContainers()) {
            List<String> argv = lines.get(owner + " container " + container.getName());
            if (argv == null) {
                continue; // not this image's
            }
            ManifestSubstitutions s = podRewrites(c, pod, istiod);
            List<String> a = new ArrayList<>(argv);
            // One loopback address per pod (127.<run>.<cluster>.<n>) stands for its network
            // namespace: what the pod binds on 0.0.0.0 or 127.0.0.1 binds on its pod IP.
            for (int i = 0; i < a.size(); i++) {
                String v = a.get(i);
                if (v.startsWith("0.0.0.0:") || v.contains("127.0.0.1")) {
                    a.set(i, v.replace("0.0.0.0:", pod.ip() + ":").replace("127.0.0.1", pod.ip()));
                } else if (i > 0 && a.get(i - 1).equals("-statusPort")) {
                    a.set(i, pod.ip() + ":" + v);
                } else if (i > 0 && a.get(i - 1).equals("-httpAddr") && v.startsWith(":")) {
                    a.set(i, pod.ip() + v);
                }
            }
            if (a.get(0).equals("controlplane")) {
                Path conf = c.dir().resolve("controlplane.conf");
                Path meshDir = Files.createDirectories(c.dir().resolve("istiod-mesh"));
                Files.writeString(
                        conf,
                        new ManifestSubstitutions(c.name() + " controlplane.conf")
                                .replace("\"0.0.0.0\"", "\"" + pod.ip() + "\"", "address: pod IP")
                                .replace("\"127.0.0.1\"", "\"" + pod.ip() + "\"", "address: pod IP")
                                .replace(SOCKET_DIR, c.socketDir().toString(), "path: socket")
                                .replace(
                                        "/var/run/mithril/mesh",
                                        meshDir.toString(),
                                        "path: emptyDir")
                                .apply(
                                        c.r().configMap("istio-system", "istiod")
                                                .orElseThrow()
                                                .getData()
                                                .get("controlplane.conf")));
                a.set(a.indexOf("/etc/mithril/controlplane.conf"), conf.toString());
                int k = a.indexOf("-kubernetes");
                assertThat(k).as("istiod runs with -kubernetes").isGreaterThan(0);
                // In-cluster configuration becomes the mock API server's kubeconfig.
                a.set(k, "-kubeconfig");
                a.add(k + 1, c.dir().resolve("kubeconfig").toString());
            }
            if (a.get(0).equals("proxy") && a.get(1).equals("gateway")) {
                // The Gateway's listener (port 8080) on the pod IP, not on every address.
                a.addAll(List.of("-publish", pod.ip() + ":8080=8080"));
            }
            Map<String, String> env = new LinkedHashMap<>();
            for (var e : container.getEnv()) {
                if (e.getValue() != null) {
                    env.put(e.getName(), e.getValue().replace("127.0.0.1", pod.ip()));
                }
            }
            start(c, pod, container.getName(), s.applyWherePresent(a), env);
        }
    }

    /** Starts a container's process; its pid maps to the pod's container before it runs. */
    private Process start(
            Cluster c, RunningPod pod, String container, List<String> args, Map<String, String> env)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", "read -r _ && exec \"$0\" \"$@\""));
        cmd.addAll(java());
        cmd.addAll(args);
        Path log =
                c.dir()
                        .resolve(
                                "logs/"
                                        + pod.pod().getMetadata().getName()
                                        + "-"
                                        + container
                                        + ".log");
        Files.createDirectories(log.getParent());
        ProcessBuilder pb =
                new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        logs.put(c.name() + " " + pod.name() + " " + container, log);
        writeCgroup(c.procRoot(), p.pid(), pod.uid(), pod.containerIds().get(container));
        p.getOutputStream().write('\n');
        p.getOutputStream().close();
        return p;
    }

    /** Runs a container's command to its end; its output. */
    private String run(Cluster c, RunningPod pod, String container, List<String> args)
            throws Exception {
        Process p = start(c, pod, container, args, Map.of());
        Path log = logs.get(c.name() + " " + pod.name() + " " + container);
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).as(container + " finished").isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(container + ": " + args + "\n" + out).isZero();
        return out;
    }

    private static List<String> java() {
        return List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Xss512k",
                "-jar",
                REPO.resolve("mithril-cli/target/mithril-cli.jar").toString());
    }

    /** A cgroup v2 file as containerd under systemd writes it for a pod's container. */
    private static void writeCgroup(Path procRoot, long pid, String podUid, String containerId)
            throws IOException {
        Path d = Files.createDirectories(procRoot.resolve(Long.toString(pid)));
        Files.writeString(
                d.resolve("cgroup"),
                "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                        + podUid.replace('-', '_')
                        + ".slice/cri-containerd-"
                        + containerId
                        + ".scope\n");
    }

    // ---------------------------------------------------------------- the kubelet

    /** The pods API of a node's kubelet (GET /pods), over HTTPS, for the agent's bearer token. */
    static final class Kubelet implements AutoCloseable {
        private final HttpsServer server;
        private final Path certificate;

        private Kubelet(HttpsServer server, Path certificate) {
            this.server = server;
            this.certificate = certificate;
        }

        static Kubelet start(
                Path dir, MockKubernetes k8s, String node, List<RunningPod> pods, String token)
                throws Exception {
            Files.createDirectories(dir);
            Path crt = dir.resolve("kubelet.crt");
            Path key = dir.resolve("kubelet.key");
            Path p12 = dir.resolve("kubelet.p12");
            exec(
                    List.of(
                            "openssl",
                            "req",
                            "-x509",
                            "-newkey",
                            "ec",
                            "-pkeyopt",
                            "ec_paramgen_curve:prime256v1",
                            "-nodes",
                            "-sha256",
                            "-days",
                            "1",
                            "-subj",
                            "/CN=" + node + "@" + Instant.now().getEpochSecond(),
                            "-addext",
                            "subjectAltName=DNS:" + node + ",IP:127.0.0.1",
                            "-addext",
                            "basicConstraints=critical,CA:TRUE",
                            "-keyout",
                            key.toString(),
                            "-out",
                            crt.toString()));
            exec(
                    List.of(
                            "openssl",
                            "pkcs12",
                            "-export",
                            "-in",
                            crt.toString(),
                            "-inkey",
                            key.toString(),
                            "-out",
                            p12.toString(),
                            "-passout",
                            "pass:kubelet"));
            KeyStore ks = KeyStore.getInstance("PKCS12");
            try (InputStream in = new FileInputStream(p12.toFile())) {
                ks.load(in, "kubelet".toCharArray());
            }
            KeyManagerFactory kmf =
                    KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, "kubelet".toCharArray());
            SSLContext tls = SSLContext.getInstance("TLS");
            tls.init(kmf.getKeyManagers(), null, null);
            HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
            https.setHttpsConfigurator(new HttpsConfigurator(tls));
            https.createContext(
                    "/pods",
                    ex -> {
                        byte[] body;
                        int status;
                        if (!("Bearer " + token)
                                .equals(ex.getRequestHeaders().getFirst("Authorization"))) {
                            status = 401;
                            body = "Unauthorized".getBytes(StandardCharsets.UTF_8);
                        } else {
                            status = 200;
                            body =
                                    RenderedManifests.SERIALIZATION
                                            .asJson(podList(k8s, node, pods))
                                            .getBytes(StandardCharsets.UTF_8);
                        }
                        ex.getResponseHeaders().set("Content-Type", "application/json");
                        ex.sendResponseHeaders(status, body.length);
                        ex.getResponseBody().write(body);
                        ex.close();
                    });
            https.start();
            return new Kubelet(https, crt);
        }

        /**
         * The node's pods as the API server has them, with the status a kubelet adds: each
         * container running with its runtime's container ID.
         */
        private static PodList podList(MockKubernetes k8s, String node, List<RunningPod> pods) {
            List<Pod> items = new ArrayList<>();
            for (RunningPod rp : pods) {
                Pod p =
                        k8s.client()
                                .pods()
                                .inNamespace(rp.pod().getMetadata().getNamespace())
                                .withName(rp.pod().getMetadata().getName())
                                .get();
                if (p == null || !node.equals(p.getSpec().getNodeName())) {
                    continue;
                }
                items.add(
                        new PodBuilder(p)
                                .editStatus()
                                .withInitContainerStatuses(
                                        statuses(p.getSpec().getInitContainers(), rp))
                                .withContainerStatuses(statuses(p.getSpec().getContainers(), rp))
                                .endStatus()
                                .build());
            }
            return new PodListBuilder().withNewMetadata().endMetadata().withItems(items).build();
        }

        private static List<ContainerStatus> statuses(List<Container> containers, RunningPod rp) {
            List<ContainerStatus> out = new ArrayList<>();
            for (Container c : containers) {
                out.add(
                        new ContainerStatusBuilder()
                                .withName(c.getName())
                                .withImage(c.getImage())
                                .withImageID("sha256:" + containerId("image " + c.getImage()))
                                .withContainerID(
                                        "containerd://" + rp.containerIds().get(c.getName()))
                                .withReady(true)
                                .withStarted(true)
                                .withRestartCount(0)
                                .withNewState()
                                .withNewRunning()
                                .withStartedAt(Instant.now().toString())
                                .endRunning()
                                .endState()
                                .build());
            }
            return out;
        }

        Path certificate() {
            return certificate;
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The upstream CA both clusters share, made as the README says, as the Secret's files. */
    private Path upstreamCa() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("upstream-ca"));
        exec(
                List.of(
                        "openssl",
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-sha256",
                        "-days",
                        "365",
                        "-subj",
                        "/C=US/O=SPIFFE/CN=Upstream CA",
                        "-addext",
                        "basicConstraints=critical,CA:TRUE",
                        "-addext",
                        "keyUsage=critical,keyCertSign,cRLSign",
                        "-keyout",
                        d.resolve("tls.key").toString(),
                        "-out",
                        d.resolve("tls.crt").toString()));
        return d;
    }

    private static RenderedManifests.Pod template(RenderedManifests r, String name) {
        return r.pods().stream()
                .filter(p -> p.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + r.source));
    }

    private static Container container(RenderedManifests.Pod pod, String name) {
        return pod.spec().getContainers().stream()
                .filter(c -> c.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError(pod.name() + ": no container " + name));
    }

    /** The audience of the agent's projected service-account token volume. */
    private static String projectedTokenAudience(RenderedManifests.Pod agent) {
        for (Volume v : agent.spec().getVolumes()) {
            if (v.getProjected() != null) {
                for (VolumeProjection s : v.getProjected().getSources()) {
                    if (s.getServiceAccountToken() != null) {
                        return s.getServiceAccountToken().getAudience();
                    }
                }
            }
        }
        throw new AssertionError(agent.name() + ": no projected service-account token");
    }

    private static String owner(RunningPod pod) {
        String name = pod.pod().getMetadata().getName();
        return "Deployment "
                + pod.pod().getMetadata().getNamespace()
                + "/"
                + name.substring(0, name.indexOf("-7d9c8b6f5-"));
    }

    private static String containerId(String seed) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(seed.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String flag(List<String> argv, String flag) {
        int i = argv.indexOf(flag);
        assertThat(i).as(flag + " in " + argv).isGreaterThanOrEqualTo(0);
        return argv.get(i + 1);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static String exec(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(2, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    private void awaitHttp200(String what, String url, Duration timeout) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        awaitTrue(
                what,
                timeout,
                () -> {
                    try {
                        return http.send(
                                                HttpRequest.newBuilder(URI.create(url))
                                                        .timeout(Duration.ofSeconds(5))
                                                        .build(),
                                                HttpResponse.BodyHandlers.discarding())
                                        .statusCode()
                                == 200;
                    } catch (IOException e) {
                        return false;
                    }
                });
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private void awaitTrue(String what, Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.ok()) {
            for (Process p : processes) {
                if (!p.isAlive() && p.exitValue() != 0) {
                    throw new AssertionError(
                            "a pod's process exited with "
                                    + p.exitValue()
                                    + "; logs:\n"
                                    + logTails());
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "timed out waiting for " + what + "; logs:\n" + logTails());
            }
            Thread.sleep(250);
        }
    }

    private String logTails() {
        StringBuilder sb = new StringBuilder();
        for (var e : logs.entrySet()) {
            try {
                List<String> lines = Files.readAllLines(e.getValue());
                sb.append("== ").append(e.getKey()).append('\n');
                lines.subList(Math.max(0, lines.size() - 15), lines.size())
                        .forEach(l -> sb.append(l).append('\n'));
            } catch (IOException ex) {
                sb.append("== ").append(e.getKey()).append(": ").append(ex).append('\n');
            }
        }
        return sb.toString();
    }
}
