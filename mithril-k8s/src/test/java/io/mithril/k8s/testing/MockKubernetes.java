package io.mithril.k8s.testing;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.ServerRequest;
import io.fabric8.mockwebserver.ServerResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * fabric8's mock API server in CRUD mode (objects kept, watches served) over HTTPS, with the
 * TokenReview API answered here as a real API server would: a token this test registered is
 * authenticated for its service account and pod when the review asks for one of the token's
 * audiences (or for none); any other token is not authenticated. {@link #kubeconfig(Path)} writes a
 * kubeconfig file pointing at it, so code under test reads it as {@code kube_config_file}.
 */
public final class MockKubernetes implements AutoCloseable {

    /** A projected service-account token the "API server" knows. */
    public record Token(
            String namespace,
            String serviceAccount,
            String podName,
            String podUid,
            List<String> audiences) {}

    private final KubernetesMockServer server;
    private final NamespacedKubernetesClient client;
    private final Map<String, Token> tokens = new ConcurrentHashMap<>();
    private final List<TokenReview> reviews = new CopyOnWriteArrayList<>();
    private volatile boolean checksAudiences = true;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    public MockKubernetes() {
        Map<ServerRequest, Queue<ServerResponse>> responses = new HashMap<>();
        server =
                new KubernetesMockServer(
                        new Context(),
                        new MockWebServer(),
                        responses,
                        new KubernetesMixedDispatcher(responses) {
                            @Override
                            public io.fabric8.mockwebserver.http.MockResponse dispatch(
                                    io.fabric8.mockwebserver.http.RecordedRequest request) {
                                requests.add(request.getMethod() + " " + request.getPath());
                                return super.dispatch(request);
                            }
                        },
                        true);
        server.init();
        server.expect()
                .post()
                .withPath("/apis/authentication.k8s.io/v1/tokenreviews")
                .andReply(
                        201,
                        req ->
                                Serialization.asJson(
                                        review(
                                                Serialization.unmarshal(
                                                        req.getUtf8Body(), TokenReview.class))))
                .always();
        // The test's own client: no retries (a retried create on a slow, loaded machine answers 409
        // for the object the first try made) and a generous timeout.
        NamespacedKubernetesClient base = server.createClient();
        client =
                new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                        .withConfig(
                                new io.fabric8.kubernetes.client.ConfigBuilder(
                                                base.getConfiguration())
                                        .withRequestRetryBackoffLimit(0)
                                        .withRequestTimeout(60_000)
                                        .build())
                        .build()
                        .adapt(NamespacedKubernetesClient.class);
        base.close();
    }

    private TokenReview review(TokenReview request) {
        reviews.add(request);
        Token t = tokens.get(request.getSpec().getToken());
        List<String> asked =
                request.getSpec().getAudiences() == null
                        ? List.of()
                        : request.getSpec().getAudiences();
        TokenReviewBuilder out = new TokenReviewBuilder(request);
        if (t == null) {
            return out.withNewStatus().withAuthenticated(false).endStatus().build();
        }
        List<String> granted = new ArrayList<>(t.audiences());
        if (checksAudiences && !asked.isEmpty()) {
            granted.retainAll(asked);
            if (granted.isEmpty()) {
                return out.withNewStatus()
                        .withAuthenticated(false)
                        .withError(
                                "[invalid bearer token, token audiences "
                                        + t.audiences()
                                        + " is invalid for the target audiences "
                                        + asked
                                        + "]")
                        .endStatus()
                        .build();
            }
        }
        return out.withNewStatus()
                .withAuthenticated(true)
                .withAudiences(granted)
                .withNewUser()
                .withUsername("system:serviceaccount:" + t.namespace() + ":" + t.serviceAccount())
                .withGroups(
                        "system:serviceaccounts",
                        "system:serviceaccounts:" + t.namespace(),
                        "system:authenticated")
                .addToExtra("authentication.kubernetes.io/pod-name", List.of(t.podName()))
                .addToExtra("authentication.kubernetes.io/pod-uid", List.of(t.podUid()))
                .endUser()
                .endStatus()
                .build();
    }

    /**
     * Makes the API server serve a custom resource (list, get, create, delete, watch), as a CRD
     * would.
     */
    public void serveCustomResource(
            String group, String version, String kind, String plural, boolean namespaced) {
        server.expectCustomResource(
                new io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext.Builder()
                        .withGroup(group)
                        .withVersion(version)
                        .withKind(kind)
                        .withPlural(plural)
                        .withScope(namespaced ? "Namespaced" : "Cluster")
                        .build());
    }

    /** Every request the API server received, as {@code METHOD path?query}, oldest first. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** How many GET requests that are not watches (lists and gets) the API server received. */
    public long listRequests() {
        return requests.stream()
                .filter(r -> r.startsWith("GET ") && !r.contains("watch=true"))
                .count();
    }

    /** Registers a token the TokenReview API authenticates. */
    public void addToken(String token, Token identity) {
        tokens.put(token, identity);
    }

    /**
     * Makes the TokenReview API answer as an API server that ignores the requested audiences
     * (authenticated, with the token's own audiences), so the client's own audience check is what
     * stands.
     */
    public void ignoreRequestedAudiences() {
        checksAudiences = false;
    }

    /** The TokenReviews received so far. */
    public List<TokenReview> reviews() {
        return List.copyOf(reviews);
    }

    /** An admin client of the API server (to create and inspect objects). */
    public NamespacedKubernetesClient client() {
        return client;
    }

    /** The API server's URL. */
    public String url() {
        return client.getMasterUrl().toString();
    }

    /** Creates a node with labels; returns the UID the API server gave it. */
    public String addNode(String name, Map<String, String> labels) {
        return client.nodes()
                .resource(
                        new NodeBuilder()
                                .withNewMetadata()
                                .withName(name)
                                .withLabels(labels)
                                .endMetadata()
                                .build())
                .create()
                .getMetadata()
                .getUid();
    }

    /** Creates a running pod on a node; returns the UID the API server gave it. */
    public String addPod(
            String namespace,
            String name,
            String serviceAccount,
            String nodeName,
            String hostIp,
            Map<String, String> labels) {
        return client.pods()
                .inNamespace(namespace)
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withNamespace(namespace)
                                .withName(name)
                                .withLabels(labels)
                                .endMetadata()
                                .withNewSpec()
                                .withServiceAccountName(serviceAccount)
                                .withNodeName(nodeName)
                                .endSpec()
                                .withNewStatus()
                                .withPhase("Running")
                                .withHostIP(hostIp)
                                .endStatus()
                                .build())
                .create()
                .getMetadata()
                .getUid();
    }

    /**
     * Writes a kubeconfig that reaches this API server (its TLS certificate is the mock's own
     * self-signed one, so the file says {@code insecure-skip-tls-verify}).
     */
    public Path kubeconfig(Path file) throws IOException {
        String yaml =
                """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: %s
                    insecure-skip-tls-verify: true
                users:
                - name: spire-server
                  user:
                    token: test-admin-token
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: spire-server
                    namespace: default
                current-context: mock
                """
                        .formatted(url());
        Files.writeString(file, yaml);
        return file;
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }
}
