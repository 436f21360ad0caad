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

    @TempDir
    Path dir;
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
        return KubernetesConfigMirror.RESOURCES.stream().filter(r -> r.getKind().equals(kind)).findFirst().orElseThrow();
    }

    private void apply(String yaml) {
        for (String doc : yaml.replace("/v1beta1", "/v1").replace("/v1alpha3", "/v1").split("(?m)^---\\s*$")) {
            if (doc.isBlank()) {
                continue;
            }
            GenericKubernetesResource r = Serialization.unmarshal(doc, GenericKubernetesResource.class);
            String ns = r.getMetadata().getNamespace() == null ? "default" : r.getMetadata().getNamespace();
            k8s.client().genericKubernetesResources(context(r.getKind())).inNamespace(ns).resource(r).create();
        }
    }

    @Test
    void istioObjectsAreServedAndABadOneIsRejectedWhileTheLastGoodSetStays() throws Exception {
        apply(MeshFixture.gateways(MeshFixture.freePort(), MeshFixture.freePort(), "/productpage"));
        apply(MeshFixture.SERVICES);
        int objects = 0;
        for (ResourceDefinitionContext r : KubernetesConfigMirror.RESOURCES) {
            objects += k8s.client().genericKubernetesResources(r).inAnyNamespace().list().getItems().size();
        }
        assertThat(objects).isGreaterThan(3);

        TestIdentities exampleOrg = new TestIdentities("example.org");
        cp = ControlPlane.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), exampleOrg.identity(TestIdentities.ISTIOD),
                exampleOrg.trustDomain, dir.toString());
        mirror = KubernetesConfigMirror.start(k8s.client(), dir);
        watcher = ConfigWatcher.start(dir, new IstioValidator(), cp);
        int expected = objects;
        await().atMost(Duration.ofSeconds(30)).until(() -> cp.current().documents().size() == expected);
        assertThat(cp.current().documents()).extracting(MeshDocument::kind).contains("Gateway", "VirtualService", "DestinationRule");
        String good = cp.current().version();

        apply("""
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
        assertThat(String.join("\n", cp.status().rejectedErrors())).contains("k8s-virtualservice-default_bad-route.yaml");
        assertThat(cp.current().version()).isEqualTo(good);

        k8s.client().genericKubernetesResources(context("VirtualService")).inNamespace("default").withName("bad-route").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> cp.status().rejectedErrors().isEmpty());
        assertThat(cp.current().version()).isEqualTo(good);
        assertThat(List.of(dir.toFile().list())).allMatch(f -> f.startsWith("k8s-"));
    }
}
