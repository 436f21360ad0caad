package io.mithril.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.types.Entry;
import io.mithril.controlplane.ConfigWatcher;
import io.mithril.controlplane.ControlPlane;
import io.mithril.controlplane.ControlPlaneConfig;
import io.mithril.controlplane.IstioValidator;
import io.mithril.controlplane.MeshDocument;
import io.mithril.controlplane.k8s.KubernetesConfigMirror;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.pki.KeyType;
import io.mithril.pki.SigningAuthority;
import io.mithril.pki.X509Minter;
import io.mithril.server.IdentityServer;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.config.ServerConfigParser;
import io.mithril.server.registrar.Registrar;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.svid.X509Svid;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment "as the manifests say", as far as it can run here: every object that {@code
 * kubectl kustomize deploy/kubernetes/overlays/cluster2} renders is created in fabric8's mock API
 * server (CRUD mode, the rendered CRDs' kinds served); the test then does what the cluster's
 * controllers would (a node; one pod per Deployment, from its template, scheduled there; an
 * EndpointSlice per Service for the pods its selector matches), and runs the registrar with the
 * command line the manifests give it and the control plane as {@code controlplane run -kubernetes}
 * does, with the rendered {@code server.conf} and {@code controlplane.conf}: every bookinfo, istiod
 * and gateway pod gets its entry from the rendered ClusterSPIFFEID, parented to its node's agent,
 * and the control plane serves the seed's Gateway, VirtualService and DestinationRule and the
 * ServiceEntries made from bookinfo's Services and EndpointSlices.
 *
 * <p>Not run here: the API server itself (its admission, RBAC, CRD conversion and validation), the
 * kubelet and a container runtime; Istio objects are created at {@code v1}, the version the control
 * plane reads, which a real API server serves for the rendered {@code v1alpha3} objects (the CRDs
 * serve every version with no conversion webhook).
 */
class ManifestsOnApiServerTest {

    @TempDir Path tmp;

    @Test
    void aPodGetsItsEntryAndTheControlPlaneItsConfiguration() throws Exception {
        RenderedManifests r = ManifestsTest.render("cluster2");
        try (MockKubernetes k8s = new MockKubernetes()) {
            Map<String, ResourceDefinitionContext> kinds = serveCrds(r, k8s);
            apply(r, k8s, kinds);

            String nodeUid = k8s.addNode("node-1", Map.of("kubernetes.io/hostname", "node-1"));
            List<Pod> pods = schedulePods(r, k8s);
            createEndpointSlices(r, k8s, pods);

            // The identity server with the rendered server.conf's trust domain, and the registrar
            // with the manifests' command line.
            Map<String, String> clusterEnv =
                    r.configMap("spire", "spire-cluster").orElseThrow().getData();
            ServerConfig rendered =
                    ServerConfigParser.parse(
                            io.mithril.hcl.Hcl.expandEnv(
                                    r.configMap("spire", "spire-server")
                                            .orElseThrow()
                                            .getData()
                                            .get("server.conf"),
                                    clusterEnv),
                            "server.conf");
            List<String> registrarArgs =
                    ManifestsTest.commandLines(r).entrySet().stream()
                            .filter(e -> e.getValue().get(0).equals("registrar"))
                            .map(Map.Entry::getValue)
                            .findFirst()
                            .orElseThrow();
            TrustDomain td = TrustDomain.parse(flag(registrarArgs, "-trustDomain"));
            assertThat(td).isEqualTo(rendered.trustDomain());
            String cluster = flag(registrarArgs, "-clusterName");
            Path data = Files.createDirectories(tmp.resolve("server"));
            try (IdentityServer server =
                            IdentityServer.start(
                                    ServerConfig.builder(td, data)
                                            .bindAddress("127.0.0.1")
                                            .bindPort(0)
                                            .socketPath(data.resolve("private/api.sock"))
                                            .rotationCheckInterval(Duration.ofHours(1))
                                            .build());
                    AdminClient admin = AdminClient.connect(server.adminSocketPath());
                    Registrar registrar =
                            new Registrar(
                                    k8s.client(),
                                    admin.admin(),
                                    new Registrar.Settings(
                                            td,
                                            cluster,
                                            "cluster.local",
                                            Registrar.Settings.DEFAULT_IGNORE_NAMESPACES,
                                            registrarArgs.contains("-usePodUidForAgentId")))) {
                registrar.start();
                List<Pod> meshPods =
                        pods.stream()
                                .filter(p -> !p.getMetadata().getNamespace().equals("spire"))
                                .toList();
                assertThat(meshPods).hasSizeGreaterThanOrEqualTo(8);
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> entries(admin).size() == meshPods.size());
                for (Pod p : meshPods) {
                    String id =
                            "spiffe://example.org/ns/"
                                    + p.getMetadata().getNamespace()
                                    + "/sa/"
                                    + p.getSpec().getServiceAccountName();
                    Entry e =
                            entries(admin).stream()
                                    .filter(
                                            x ->
                                                    x.getSelectorsList().stream()
                                                            .anyMatch(
                                                                    s ->
                                                                            s.getValue()
                                                                                    .equals(
                                                                                            "pod-uid:"
                                                                                                    + p.getMetadata()
                                                                                                            .getUid())))
                                    .findFirst()
                                    .orElseThrow(
                                            () ->
                                                    new AssertionError(
                                                            "no entry for pod "
                                                                    + p.getMetadata().getName()));
                    assertThat(e.getSpiffeId()).isEqualTo(id);
                    // The gateway's certificate names the host the seed's curl verifies.
                    assertThat(e.getDnsNamesList())
                            .as(id)
                            .isEqualTo(
                                    id.endsWith("/sa/istio-ingressgateway")
                                            ? List.of("app.example.org")
                                            : List.of());
                    assertThat(e.getParentId())
                            .isEqualTo(
                                    "spiffe://example.org/spire/agent/k8s_psat/"
                                            + cluster
                                            + "/"
                                            + nodeUid);
                }
            }

            // The control plane as `controlplane run -kubernetes` feeds it, with the rendered
            // controlplane.conf.
            Path conf = tmp.resolve("controlplane.conf");
            Files.writeString(
                    conf,
                    r.configMap("istio-system", "istiod")
                            .orElseThrow()
                            .getData()
                            .get("controlplane.conf"));
            ControlPlaneConfig cpConfig = ControlPlaneConfig.load(conf);
            Path configDir = Files.createDirectories(tmp.resolve("mesh"));
            try (KubernetesConfigMirror mirror =
                            KubernetesConfigMirror.start(
                                    k8s.client(),
                                    configDir,
                                    cpConfig.trustDomain().name(),
                                    "cluster.local");
                    ControlPlane cp =
                            ControlPlane.start(
                                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                                    identity(cpConfig),
                                    cpConfig.trustDomain(),
                                    configDir.toString());
                    ConfigWatcher watcher =
                            ConfigWatcher.start(configDir, new IstioValidator(), cp)) {
                await().atMost(Duration.ofSeconds(60))
                        .until(
                                () ->
                                        cp.current().documents().stream()
                                                        .filter(
                                                                d ->
                                                                        d.kind()
                                                                                .equals(
                                                                                        "ServiceEntry"))
                                                        .count()
                                                >= 4);
                assertThat(cp.status().rejectedErrors()).isEmpty();
                List<String> served =
                        cp.current().documents().stream()
                                .map(d -> d.kind() + " " + name(d))
                                .toList();
                assertThat(served)
                        .contains(
                                "Gateway bookinfo-gateway",
                                "VirtualService bookinfo-service",
                                "DestinationRule enable-mtls",
                                "ServiceEntry k8s-svc-productpage",
                                "ServiceEntry k8s-svc-details",
                                "ServiceEntry k8s-svc-reviews",
                                "ServiceEntry k8s-svc-ratings",
                                "ServiceEntry k8s-svc-istio-ingressgateway",
                                "ServiceEntry k8s-svc-istiod");
                String reviews =
                        Files.readString(configDir.resolve("k8s-service-default_reviews.yaml"));
                assertThat(reviews).contains("bookinfo-reviews").contains("\"version\" : \"v3\"");
            }
        }
    }

    private static String name(MeshDocument d) {
        return d.name();
    }

    private static String flag(List<String> argv, String flag) {
        int i = argv.indexOf(flag);
        assertThat(i).as(flag + " in " + argv).isGreaterThanOrEqualTo(0);
        return argv.get(i + 1);
    }

    private static List<Entry> entries(AdminClient admin) {
        return admin.admin().listEntries(ListEntriesRequest.getDefaultInstance()).getEntriesList();
    }

    /** Each rendered CRD's kind, served at each of its served versions; by kind. */
    static Map<String, ResourceDefinitionContext> serveCrds(
            RenderedManifests r, MockKubernetes k8s) {
        Map<String, ResourceDefinitionContext> kinds = new LinkedHashMap<>();
        for (CustomResourceDefinition crd : r.all(CustomResourceDefinition.class)) {
            var s = crd.getSpec();
            boolean namespaced = s.getScope().equals("Namespaced");
            for (CustomResourceDefinitionVersion v : s.getVersions()) {
                if (Boolean.TRUE.equals(v.getServed())) {
                    k8s.serveCustomResource(
                            s.getGroup(),
                            v.getName(),
                            s.getNames().getKind(),
                            s.getNames().getPlural(),
                            namespaced);
                }
            }
            kinds.put(
                    s.getNames().getKind(),
                    new ResourceDefinitionContext.Builder()
                            .withGroup(s.getGroup())
                            .withKind(s.getNames().getKind())
                            .withPlural(s.getNames().getPlural())
                            .withNamespaced(namespaced)
                            .withVersion(s.getVersions().get(0).getName())
                            .build());
        }
        return kinds;
    }

    /**
     * Creates every rendered object; Istio's at v1, the version a real API server also serves them
     * at.
     */
    static void apply(
            RenderedManifests r, MockKubernetes k8s, Map<String, ResourceDefinitionContext> kinds) {
        for (HasMetadata o : r.objects) {
            String ns =
                    o.getMetadata().getNamespace() == null
                            ? "default"
                            : o.getMetadata().getNamespace();
            if (o instanceof GenericKubernetesResource g) {
                ResourceDefinitionContext c = kinds.get(g.getKind());
                String version =
                        g.getApiVersion().contains("istio.io/")
                                ? "v1"
                                : g.getApiVersion().substring(g.getApiVersion().indexOf('/') + 1);
                ResourceDefinitionContext at =
                        new ResourceDefinitionContext.Builder()
                                .withGroup(c.getGroup())
                                .withKind(c.getKind())
                                .withPlural(c.getPlural())
                                .withNamespaced(c.isNamespaceScoped())
                                .withVersion(version)
                                .build();
                g.setApiVersion(c.getGroup() + "/" + version);
                var op = k8s.client().genericKubernetesResources(at);
                (c.isNamespaceScoped() ? op.inNamespace(ns).resource(g) : op.resource(g)).create();
            } else if (o instanceof io.fabric8.kubernetes.api.model.Namespace n) {
                // The label a real API server (1.21+) puts on every namespace, which the
                // ClusterSPIFFEID's namespaceSelector reads; the mock does not add it.
                k8s.client()
                        .resource(
                                new io.fabric8.kubernetes.api.model.NamespaceBuilder(n)
                                        .editMetadata()
                                        .addToLabels(
                                                "kubernetes.io/metadata.name",
                                                n.getMetadata().getName())
                                        .endMetadata()
                                        .build())
                        .create();
            } else if (o instanceof CustomResourceDefinition
                    || o instanceof io.fabric8.kubernetes.api.model.rbac.ClusterRole
                    || o instanceof io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding) {
                k8s.client().resource(o).create();
            } else {
                k8s.client().resource(o).inNamespace(ns).create();
            }
        }
    }

    /**
     * What the ReplicaSet controller and the scheduler would do: one running pod per Deployment, on
     * node-1.
     */
    private static List<Pod> schedulePods(RenderedManifests r, MockKubernetes k8s) {
        return schedulePods(r, k8s, "node-1", "10.244.0.", 10);
    }

    /**
     * One running pod per Deployment on {@code node}, with pod IPs {@code ipPrefix + n} from {@code
     * firstIp}.
     */
    static List<Pod> schedulePods(
            RenderedManifests r, MockKubernetes k8s, String node, String ipPrefix, int firstIp) {
        List<Pod> pods = new ArrayList<>();
        int ip = firstIp;
        for (RenderedManifests.Pod p : r.pods()) {
            if (!p.owner().getKind().equals("Deployment")) {
                continue;
            }
            var template =
                    ((io.fabric8.kubernetes.api.model.apps.Deployment) p.owner())
                            .getSpec()
                            .getTemplate();
            Pod pod =
                    new PodBuilder()
                            .withNewMetadata()
                            .withNamespace(p.owner().getMetadata().getNamespace())
                            .withName(p.owner().getMetadata().getName() + "-7d9c8b6f5-x" + ip)
                            .withLabels(template.getMetadata().getLabels())
                            .endMetadata()
                            .withSpec(p.spec())
                            .editSpec()
                            .withNodeName(node)
                            .endSpec()
                            .withNewStatus()
                            .withPhase("Running")
                            .withPodIP(ipPrefix + ip++)
                            .endStatus()
                            .build();
            pods.add(
                    k8s.client()
                            .pods()
                            .inNamespace(pod.getMetadata().getNamespace())
                            .resource(pod)
                            .create());
        }
        return pods;
    }

    /**
     * What the EndpointSlice controller would do: the ready pods a Service selects, at their
     * container ports.
     */
    static void createEndpointSlices(RenderedManifests r, MockKubernetes k8s, List<Pod> pods) {
        for (Service svc : r.all(Service.class)) {
            Map<String, String> selector = svc.getSpec().getSelector();
            if (selector == null || selector.isEmpty()) {
                continue;
            }
            String ns = svc.getMetadata().getNamespace();
            List<Pod> selected =
                    pods.stream()
                            .filter(
                                    p ->
                                            p.getMetadata().getNamespace().equals(ns)
                                                    && p.getMetadata()
                                                            .getLabels()
                                                            .entrySet()
                                                            .containsAll(selector.entrySet()))
                            .toList();
            if (selected.isEmpty()) {
                continue; // e.g. spire-server: its StatefulSet's pod is not made here
            }
            EndpointSliceBuilder b =
                    new EndpointSliceBuilder()
                            .withNewMetadata()
                            .withNamespace(ns)
                            .withName(svc.getMetadata().getName() + "-abcde")
                            .addToLabels("kubernetes.io/service-name", svc.getMetadata().getName())
                            .endMetadata()
                            .withAddressType("IPv4");
            for (Pod p : selected) {
                b.addNewEndpoint()
                        .withAddresses(p.getStatus().getPodIP())
                        .withNewConditions()
                        .withReady(true)
                        .endConditions()
                        .withNewTargetRef()
                        .withKind("Pod")
                        .withNamespace(ns)
                        .withName(p.getMetadata().getName())
                        .endTargetRef()
                        .endEndpoint();
            }
            for (ServicePort sp : svc.getSpec().getPorts()) {
                b.addNewPort()
                        .withName(sp.getName())
                        .withProtocol("TCP")
                        .withPort(targetPort(sp, selected))
                        .endPort();
            }
            k8s.client()
                    .discovery()
                    .v1()
                    .endpointSlices()
                    .inNamespace(ns)
                    .resource(b.build())
                    .create();
        }
    }

    private static int targetPort(ServicePort sp, List<Pod> pods) {
        IntOrString t = sp.getTargetPort();
        if (t == null) {
            return sp.getPort();
        }
        if (t.getStrVal() == null) {
            return t.getIntVal();
        }
        for (Pod p : pods) {
            for (Container c : p.getSpec().getContainers()) {
                for (ContainerPort cp : c.getPorts()) {
                    if (t.getStrVal().equals(cp.getName())) {
                        return cp.getContainerPort();
                    }
                }
            }
        }
        throw new AssertionError(
                "Service " + sp.getName() + ": no pod has a port named " + t.getStrVal());
    }

    /**
     * The control plane's SVID for the rendered spiffe_id (the agent's Workload API gives it in the
     * cluster).
     */
    private static IdentitySource identity(ControlPlaneConfig c) {
        X509Minter minter = new X509Minter(Clock.systemUTC());
        KeyPair caKey = KeyType.EC_P256.generate();
        X509Certificate root =
                minter.selfSignedCa(caKey, c.trustDomain(), Duration.ofHours(2), null);
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                minter.signX509Svid(
                        SigningAuthority.of(root, caKey.getPrivate()),
                        key.getPublic(),
                        c.spiffeId(),
                        List.of(),
                        Duration.ofHours(1));
        return IdentitySource.of(
                X509Svid.of(List.of(leaf), key.getPrivate()),
                X509BundleSet.of(X509Bundle.of(c.trustDomain(), List.of(root))));
    }
}
