package io.mithril.k8s.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.zjsonpatch.JsonPatch;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.spiffe.testing.HeldCertificate;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The injector on real AdmissionReview JSON (the seed's sleep Deployment's pod, as the ReplicaSet
 * controller creates it), its patch applied with a JSON-patch library (fabric8's zjsonpatch);
 * namespace labels come from fabric8's mock API server; the webhook is called over TLS.
 */
class SidecarInjectorTest {

    static final ObjectMapper JSON = new ObjectMapper();
    MockKubernetes k8s;
    SidecarInjector injector;

    @BeforeEach
    void start() {
        k8s = new MockKubernetes();
        k8s.client()
                .namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("istio-system")
                                .addToLabels("istio-injection", "enabled")
                                .endMetadata()
                                .build())
                .create();
        k8s.client()
                .namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("default")
                                .endMetadata()
                                .build())
                .create();
        injector =
                new SidecarInjector(
                        new SidecarInjector.Settings(
                                "ghcr.io/mithril/mithril:0.1.0",
                                "istiod.istio-system.svc:15012",
                                "spiffe://example.org/ns/istio-system/sa/istiod",
                                "example.org"),
                        SidecarInjector.namespaceLabels(k8s.client()));
    }

    @AfterEach
    void stop() {
        k8s.close();
    }

    static ObjectNode seedReview() throws Exception {
        try (InputStream in =
                SidecarInjectorTest.class.getResourceAsStream("/admission/sleep-pod-create.json")) {
            return (ObjectNode) JSON.readTree(in);
        }
    }

    /** The review's response, and the pod after its patch (the pod itself when there is none). */
    record Outcome(JsonNode response, JsonNode pod) {}

    Outcome review(ObjectNode review) {
        JsonNode out =
                JSON.readTree(
                        new String(
                                injector.review(JSON.writeValueAsBytes(review)),
                                StandardCharsets.UTF_8));
        assertThat(out.path("apiVersion").asString()).isEqualTo("admission.k8s.io/v1");
        assertThat(out.path("kind").asString()).isEqualTo("AdmissionReview");
        JsonNode response = out.path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        JsonNode pod = review.path("request").path("object");
        if (response.has("patch")) {
            assertThat(response.path("patchType").asString()).isEqualTo("JSONPatch");
            JsonNode patch =
                    JSON.readTree(Base64.getDecoder().decode(response.path("patch").asString()));
            pod = JsonPatch.apply(patch, pod);
        }
        return new Outcome(response, pod);
    }

    @Test
    void theSeedsSleepPodGetsTheSidecarWithTheSpireSocketAndKeepsEverythingElse() throws Exception {
        ObjectNode review = seedReview();
        JsonNode before = review.path("request").path("object").deepCopy();
        Outcome o = review(review);
        assertThat(o.response().path("uid").asString())
                .isEqualTo("705ab4f5-6393-11e8-b7cc-42010a800002");
        JsonNode spec = o.pod().path("spec");
        assertThat(spec.path("containers")).hasSize(2);
        assertThat(spec.path("containers").get(0))
                .isEqualTo(before.path("spec").path("containers").get(0));
        JsonNode proxy = spec.path("containers").get(1);
        assertThat(proxy.path("name").asString()).isEqualTo("istio-proxy");
        assertThat(proxy.path("image").asString()).isEqualTo("ghcr.io/mithril/mithril:0.1.0");
        assertThat(proxy.path("args").values())
                .extracting(JsonNode::asString)
                .containsExactly(
                        "proxy",
                        "sidecar",
                        "-namespace",
                        "$(POD_NAMESPACE)",
                        "-socketPath",
                        "/run/secrets/workload-spiffe-uds/socket",
                        "-controlPlane",
                        "istiod.istio-system.svc:15012",
                        "-controlPlaneID",
                        "spiffe://example.org/ns/istio-system/sa/istiod",
                        "-trustDomain",
                        "example.org");
        // Where Istio's spire template and SPIRE's helm chart put the socket, and
        // deploy/kubernetes's agent serves it.
        assertThat(proxy.path("volumeMounts").get(0).path("name").asString())
                .isEqualTo("workload-socket");
        assertThat(proxy.path("volumeMounts").get(0).path("mountPath").asString())
                .isEqualTo("/run/secrets/workload-spiffe-uds");
        assertThat(proxy.path("volumeMounts").get(0).path("readOnly").asBoolean()).isTrue();
        assertThat(proxy.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        // The socket's volume is added after the pod's own (the seed's spire-agent-socket stays for
        // its init container).
        assertThat(spec.path("volumes")).hasSize(before.path("spec").path("volumes").size() + 1);
        for (int i = 0; i < before.path("spec").path("volumes").size(); i++) {
            assertThat(spec.path("volumes").get(i))
                    .isEqualTo(before.path("spec").path("volumes").get(i));
        }
        JsonNode socket = spec.path("volumes").get(before.path("spec").path("volumes").size());
        assertThat(socket.path("name").asString()).isEqualTo("workload-socket");
        assertThat(socket.path("hostPath").path("path").asString())
                .isEqualTo("/run/secrets/workload-spiffe-uds");
        assertThat(spec.path("initContainers"))
                .isEqualTo(before.path("spec").path("initContainers"));
        assertThat(spec.path("hostAliases")).isEqualTo(before.path("spec").path("hostAliases"));
        assertThat(
                        o.pod()
                                .path("metadata")
                                .path("annotations")
                                .path("inject.istio.io/templates")
                                .asString())
                .isEqualTo("sidecar,spire");
        assertThat(
                        o.pod()
                                .path("metadata")
                                .path("annotations")
                                .path("sidecar.istio.io/status")
                                .asString())
                .contains("istio-proxy")
                .contains("spire");
        // Injecting the injected pod again adds nothing.
        ((ObjectNode) review.path("request")).set("object", o.pod());
        assertThat(review(review).response().has("patch")).isFalse();
    }

    @Test
    void injectionFollowsTheNamespaceLabelAndThePodsOwnLabel() throws Exception {
        ObjectNode review = seedReview();
        ObjectNode req = (ObjectNode) review.path("request");
        req.put("namespace", "default");
        ((ObjectNode) req.path("object").path("metadata")).put("namespace", "default");
        assertThat(review(review).response().has("patch"))
                .as("default is not labelled istio-injection=enabled")
                .isFalse();

        ((ObjectNode) req.path("object").path("metadata").path("labels"))
                .put("sidecar.istio.io/inject", "true");
        ((ObjectNode) req.path("object").path("spec")).remove("volumes");
        Outcome o = review(review);
        assertThat(o.pod().path("spec").path("containers")).hasSize(2);
        assertThat(o.pod().path("spec").path("volumes")).hasSize(1);
        assertThat(
                        o.pod()
                                .path("spec")
                                .path("volumes")
                                .get(0)
                                .path("hostPath")
                                .path("path")
                                .asString())
                .isEqualTo("/run/secrets/workload-spiffe-uds");

        ObjectNode optOut = seedReview();
        ((ObjectNode) optOut.path("request").path("object").path("metadata").path("labels"))
                .put("sidecar.istio.io/inject", "false");
        assertThat(review(optOut).response().has("patch"))
                .as("opted out in an enabled namespace")
                .isFalse();
    }

    @Test
    void aPodThatCannotBePatchedIsLetThroughWithAWarning() throws Exception {
        ObjectNode unknownTemplate = seedReview();
        ((ObjectNode)
                        unknownTemplate
                                .path("request")
                                .path("object")
                                .path("metadata")
                                .path("annotations"))
                .put("inject.istio.io/templates", "sidecar,grpc-agent");
        Outcome o = review(unknownTemplate);
        assertThat(o.response().has("patch")).isFalse();
        assertThat(o.response().path("warnings").get(0).asString())
                .contains("injection template \"grpc-agent\" is unknown");

        ObjectNode notAPod = seedReview();
        ((ObjectNode) notAPod.path("request").path("kind"))
                .put("kind", "Deployment")
                .put("group", "apps");
        assertThat(review(notAPod).response().path("warnings").get(0).asString())
                .contains("not a Pod");

        JsonNode garbage =
                JSON.readTree(
                        new String(
                                injector.review("{not json".getBytes(StandardCharsets.UTF_8)),
                                StandardCharsets.UTF_8));
        assertThat(garbage.path("response").path("allowed").asBoolean()).isTrue();
        assertThat(garbage.path("response").path("warnings").get(0).asString())
                .contains("mithril sidecar injection skipped");
    }

    @Test
    void theWebhookAnswersOverTls() throws Exception {
        HeldCertificate ca = HeldCertificate.builder().commonName("webhook-ca").ca().build();
        HeldCertificate leaf =
                HeldCertificate.builder()
                        .commonName("mithril-injector.istio-system.svc")
                        .addDnsName("localhost")
                        .signedBy(ca)
                        .build();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
                "tls",
                leaf.privateKey(),
                new char[0],
                new Certificate[] {leaf.certificate(), ca.certificate()});
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.certificate());
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);
        try (InjectionWebhook webhook =
                InjectionWebhook.start(
                        new InetSocketAddress("127.0.0.1", 0), serverTls, injector)) {
            HttpClient http = HttpClient.newBuilder().sslContext(clientTls).build();
            URI uri = URI.create("https://localhost:" + webhook.port() + "/inject");
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(uri)
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofByteArray(
                                                    JSON.writeValueAsBytes(seedReview())))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(JSON.readTree(r.body()).path("response").path("patchType").asString())
                    .isEqualTo("JSONPatch");
            assertThat(
                            http.send(
                                            HttpRequest.newBuilder(uri).GET().build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(405);
            byte[] huge = new byte[InjectionWebhook.MAX_BODY_BYTES + 10];
            assertThat(
                            http.send(
                                            HttpRequest.newBuilder(uri)
                                                    .POST(
                                                            HttpRequest.BodyPublishers.ofByteArray(
                                                                    huge))
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(413);
        }
    }
}
