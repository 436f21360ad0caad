package io.mithril.agent.testing;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mithril.pki.Pem;
import io.mithril.spiffe.testing.HeldCertificate;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * A kubelet's {@code /pods} over HTTPS on 127.0.0.1, with a certificate for {@code localhost} under
 * its own CA, answering only requests that carry its bearer token; the pod list (a real {@code v1
 * PodList}, as fabric8 serializes it) is whatever the test sets.
 */
public final class FakeKubelet implements AutoCloseable {

    public static final String TOKEN = "agent-service-account-token";

    private final HttpsServer server;
    private final HeldCertificate ca =
            HeldCertificate.builder().commonName("kubelet-ca").ca().build();
    private final List<Pod> pods = new CopyOnWriteArrayList<>();
    private final AtomicInteger requests = new AtomicInteger();

    public FakeKubelet() throws Exception {
        HeldCertificate leaf =
                HeldCertificate.builder()
                        .commonName("node-1")
                        .addDnsName("localhost")
                        .signedBy(ca)
                        .build();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry(
                "kubelet",
                leaf.privateKey(),
                new char[0],
                new Certificate[] {leaf.certificate(), ca.certificate()});
        KeyManagerFactory kmf =
                KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(ctx));
        server.createContext(
                "/pods",
                exchange -> {
                    requests.incrementAndGet();
                    byte[] body;
                    int status;
                    if (!("Bearer " + TOKEN)
                            .equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                        status = 401;
                        body = "Unauthorized".getBytes(StandardCharsets.UTF_8);
                    } else {
                        status = 200;
                        body =
                                Serialization.asJson(
                                                new PodListBuilder()
                                                        .withApiVersion("v1")
                                                        .withKind("PodList")
                                                        .withItems(pods)
                                                        .build())
                                        .getBytes(StandardCharsets.UTF_8);
                    }
                    exchange.getResponseHeaders().add("Content-Type", "application/json");
                    exchange.sendResponseHeaders(status, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Writes the kubelet's CA (for {@code kubelet_ca_path}). */
    public Path writeCa(Path file) throws IOException {
        Pem.writeCertificates(file, List.of(ca.certificate()));
        return file;
    }

    public int requests() {
        return requests.get();
    }

    /** Replaces the pod list. */
    public void setPods(Pod... list) {
        pods.clear();
        pods.addAll(List.of(list));
    }

    /**
     * A running pod of a ReplicaSet whose container {@code sleep} has {@code containerId} ({@code
     * containerd://<id>}), or has not started when {@code containerId} is null.
     */
    public static Pod pod(
            String namespace, String name, String uid, String serviceAccount, String containerId) {
        return new PodBuilder()
                .withApiVersion("v1")
                .withKind("Pod")
                .withNewMetadata()
                .withNamespace(namespace)
                .withName(name)
                .withUid(uid)
                .addToLabels("app", "sleep")
                .addToLabels("pod-template-hash", "7d9c8b6f5")
                .addNewOwnerReference()
                .withApiVersion("apps/v1")
                .withKind("ReplicaSet")
                .withName("sleep-7d9c8b6f5")
                .withUid("6c9d7d7e-1b1c-4d3a-9d1e-0f6d2a9c8b7a")
                .withController(true)
                .endOwnerReference()
                .endMetadata()
                .withNewSpec()
                .withServiceAccountName(serviceAccount)
                .withNodeName("node-1")
                .addNewContainer()
                .withName("sleep")
                .withImage("curlimages/curl:8.5.0")
                .endContainer()
                .endSpec()
                .withNewStatus()
                .withPhase(containerId == null ? "Pending" : "Running")
                .withHostIP("10.0.0.7")
                .withPodIP("10.244.1.9")
                .addNewContainerStatus()
                .withName("sleep")
                .withImage("docker.io/curlimages/curl:8.5.0")
                .withImageID(
                        "docker.io/curlimages/curl@sha256:4bfa3e2c0164fb103fb9bfd4dc956facce32b6c5d47cc09fcec883ce9535d5ac")
                .withContainerID(containerId == null ? null : "containerd://" + containerId)
                .withReady(containerId != null)
                .withRestartCount(0)
                .endContainerStatus()
                .endStatus()
                .build();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
