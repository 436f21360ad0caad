package io.mithril.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mithril.controlplane.k8s.KubernetesConfigMirror;
import io.mithril.k8s.testing.MockKubernetes;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane fed by the Kubernetes API: the seed's Gateway, VirtualServices and
 * DestinationRules as objects of fabric8's mock API server (CRUD, watches), mirrored into the
 * directory the control plane's watcher serves; a bad object is rejected and the last good
 * configuration stays.
 */
class KubernetesConfigMirrorTest {

    @TempDir Path dir;
    MockKubernetes k8s;
    ControlPlane cp;
    ConfigWatcher watcher;
    KubernetesConfigMirror mirror;

    @BeforeEach
    void start() throws Exception {
        k8s = new MockKubernetes();
        for (ResourceDefinitionContext r : KubernetesConfigMirror.RESOURCES) {
            k8s.serveCustomResource(r.getGroup(), r.getVersion(), r.getKind(), r.getPlural(), true);
        }
    }

    @AfterEach
    void stop() {
        if (mirror != null) {
            mirror.close();
        }
        if (watcher != null) {
            watcher.close();
        }
        if (cp != null) {
            cp.close();
        }
        k8s.close();
    }

    private static ResourceDefinitionContext context(String kind) {
        return KubernetesConfigMirror.RESOURCES.stream()
                .filter(r -> r.getKind().equals(kind))
                .findFirst()
                .orElseThrow();
    }

    private void apply(String yaml) {
        for (String doc :
                yaml.replace("/v1beta1", "/v1")
                        .replace("/v1alpha3", "/v1")
                        .split("(?m)^---\\s*$")) {
            if (doc.isBlank()) {
                continue;
            }
            GenericKubernetesResource r =
                    Serialization.unmarshal(doc, GenericKubernetesResource.class);
            String ns =
                    r.getMetadata().getNamespace() == null
                            ? "default"
                            : r.getMetadata().getNamespace();
            k8s.client()
                    .genericKubernetesResources(context(r.getKind()))
                    .inNamespace(ns)
                    .resource(r)
                    .create();
        }
    }

    @Test
    void istioObjectsAreServedAndABadOneIsRejectedWhileTheLastGoodSetStays() throws Exception {
        apply(MeshFixture.gateways(MeshFixture.freePort(), MeshFixture.freePort(), "/productpage"));
        apply(MeshFixture.SERVICES);
        int objects = 0;
        for (ResourceDefinitionContext r : KubernetesConfigMirror.RESOURCES) {
            objects +=
                    k8s.client()
                            .genericKubernetesResources(r)
                            .inAnyNamespace()
                            .list()
                            .getItems()
                            .size();
        }
        assertThat(objects).isGreaterThan(3);

        TestIdentities exampleOrg = new TestIdentities("example.org");
        cp =
                ControlPlane.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        exampleOrg.identity(TestIdentities.ISTIOD),
                        exampleOrg.trustDomain,
                        dir.toString());
        mirror = KubernetesConfigMirror.start(k8s.client(), dir);
        watcher = ConfigWatcher.start(dir, new IstioValidator(), cp);
        int expected = objects;
        await().atMost(Duration.ofSeconds(30))
                .until(() -> cp.current().documents().size() == expected);
        assertThat(cp.current().documents())
                .extracting(MeshDocument::kind)
                .contains("Gateway", "VirtualService", "DestinationRule");
        String good = cp.current().version();

        apply(
                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata:
                  name: bad-route
                  namespace: default
                spec:
                  hosts: ["reviews"]
                  http:
                  - route:
                    - weight: 100
                """);
        await().atMost(Duration.ofSeconds(30)).until(() -> !cp.status().rejectedErrors().isEmpty());
        assertThat(String.join("\n", cp.status().rejectedErrors()))
                .contains("k8s-virtualservice-default_bad-route.yaml");
        assertThat(cp.current().version()).isEqualTo(good);

        k8s.client()
                .genericKubernetesResources(context("VirtualService"))
                .inNamespace("default")
                .withName("bad-route")
                .delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> cp.status().rejectedErrors().isEmpty());
        assertThat(cp.current().version()).isEqualTo(good);
        assertThat(List.of(dir.toFile().list())).allMatch(f -> f.startsWith("k8s-"));
    }

    /**
     * Services and EndpointSlices feed the cluster's endpoints as istiod does: the Service becomes
     * a ServiceEntry with one endpoint per ready address, with its pod's service account (the
     * peer's SPIFFE ID); the control plane serves it. Events are handled from the informers'
     * stores: after start, no list request reaches the API server.
     */
    @Test
    void servicesAndEndpointSlicesBecomeServiceEntriesFromTheInformersStores() throws Exception {
        var c = k8s.client();
        c.pods()
                .inNamespace("default")
                .resource(
                        new io.fabric8.kubernetes.api.model.PodBuilder()
                                .withNewMetadata()
                                .withNamespace("default")
                                .withName("reviews-v1-abc")
                                .addToLabels("app", "reviews")
                                .addToLabels("version", "v1")
                                .endMetadata()
                                .withNewSpec()
                                .withServiceAccountName("bookinfo-reviews")
                                .addNewContainer()
                                .withName("reviews")
                                .withImage("mithril")
                                .endContainer()
                                .endSpec()
                                .build())
                .create();
        c.services()
                .inNamespace("default")
                .resource(
                        new io.fabric8.kubernetes.api.model.ServiceBuilder()
                                .withNewMetadata()
                                .withNamespace("default")
                                .withName("reviews")
                                .endMetadata()
                                .withNewSpec()
                                .withClusterIP("10.96.0.21")
                                .addToSelector("app", "reviews")
                                .addNewPort()
                                .withName("http")
                                .withPort(9080)
                                .withNewTargetPort(9080)
                                .endPort()
                                .endSpec()
                                .build())
                .create();
        TestIdentities exampleOrg = new TestIdentities("example.org");
        cp =
                ControlPlane.start(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        exampleOrg.identity(TestIdentities.ISTIOD),
                        exampleOrg.trustDomain,
                        dir.toString());
        mirror = KubernetesConfigMirror.start(c, dir, "example.org", "cluster.local");
        watcher = ConfigWatcher.start(dir, new IstioValidator(), cp);
        long lists = k8s.listRequests();

        c.discovery()
                .v1()
                .endpointSlices()
                .inNamespace("default")
                .resource(
                        new io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder()
                                .withNewMetadata()
                                .withNamespace("default")
                                .withName("reviews-x7k2p")
                                .addToLabels("kubernetes.io/service-name", "reviews")
                                .endMetadata()
                                .withAddressType("IPv4")
                                .addNewEndpoint()
                                .withAddresses("10.244.1.7")
                                .withNewConditions()
                                .withReady(true)
                                .endConditions()
                                .withNewTargetRef()
                                .withKind("Pod")
                                .withNamespace("default")
                                .withName("reviews-v1-abc")
                                .endTargetRef()
                                .endEndpoint()
                                .addNewEndpoint()
                                .withAddresses("10.244.1.8")
                                .withNewConditions()
                                .withReady(false)
                                .endConditions()
                                .endEndpoint()
                                .addNewPort()
                                .withName("http")
                                .withPort(9080)
                                .withProtocol("TCP")
                                .endPort()
                                .build())
                .create();
        Path file = dir.resolve("k8s-service-default_reviews.yaml");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                java.nio.file.Files.exists(file)
                                        && java.nio.file.Files.readString(file)
                                                .contains("10.244.1.7"));
        String yaml = java.nio.file.Files.readString(file);
        var parsed = io.mithril.mesh.yaml.MeshYaml.parse(file.toString(), yaml);
        assertThat(parsed.errors()).isEmpty();
        var se = (io.mithril.mesh.model.ServiceEntry) parsed.resources().get(0);
        assertThat(se.hosts()).containsExactly("reviews.default.svc.cluster.local");
        assertThat(se.addresses()).containsExactly("10.96.0.21");
        assertThat(se.endpoints()).hasSize(1); // the unready address is left out
        assertThat(se.endpoints().get(0).address()).isEqualTo("10.244.1.7");
        assertThat(se.endpoints().get(0).serviceAccount()).isEqualTo("bookinfo-reviews");
        assertThat(se.endpoints().get(0).ports()).containsEntry("http", 9080);
        assertThat(se.endpoints().get(0).labels()).containsEntry("version", "v1");
        assertThat(se.metadata().name()).isEqualTo("k8s-svc-reviews");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                cp.current().documents().stream()
                                        .anyMatch(d -> d.kind().equals("ServiceEntry")));
        // A user's own ServiceEntry named like the Service is no duplicate: both are served.
        apply(
                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata:
                  name: reviews
                  namespace: default
                spec:
                  hosts: ["reviews.example.com"]
                  location: MESH_EXTERNAL
                  ports: [{number: 443, name: https, protocol: HTTPS}]
                  resolution: DNS
                """);
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                cp.current().documents().stream()
                                                .filter(d -> d.kind().equals("ServiceEntry"))
                                                .count()
                                        == 2);
        assertThat(cp.status().rejectedErrors()).isEmpty();

        // The Service goes: so does its ServiceEntry. No list request was made for any of it.
        c.services().inNamespace("default").withName("reviews").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> !java.nio.file.Files.exists(file));
        assertThat(k8s.listRequests()).as("list requests after start").isEqualTo(lists);
    }
}
