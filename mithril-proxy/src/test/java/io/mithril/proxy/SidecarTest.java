package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.proxy.identity.StaticIdentitySource;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sidecar mode: an app calls another service through its sidecar's outbound HTTP proxy (as {@code
 * http_proxy} makes curl do), the sidecar originates mTLS per DestinationRule, and the callee's
 * sidecar terminates it per PeerAuthentication.
 */
class SidecarTest {

    static final String SERVICES =
            """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: default, namespace: istio-system}
            spec: {host: "*.svc.cluster.local", trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}
            """;

    static TestPki pki;
    static TestBackend details;
    static Proxy detailsSidecar;
    static Proxy sleepSidecar;

    @BeforeAll
    static void start() throws Exception {
        pki = new TestPki("example.org");
        details = new TestBackend("details");
        // No PeerAuthentication: PERMISSIVE, Istio's default.
        detailsSidecar =
                MeshFixture.sidecar(
                        new StaticIdentitySource(
                                pki.identity(
                                        "spiffe://example.org/ns/default/sa/bookinfo-details")),
                        Map.of("app", "details"),
                        details.port(),
                        MeshFixture.parse(SERVICES));
        String entry =
                """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: details, namespace: default}
                spec:
                  hosts: [details.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: details}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: details-v1, namespace: default}
                spec: {address: 127.0.0.1, ports: {http: %d}, labels: {app: details}, serviceAccount: bookinfo-details}
                """
                        .formatted(detailsSidecar.listenerAddress(9080).getPort());
        try (TestBackend none = new TestBackend("unused")) {
            sleepSidecar =
                    MeshFixture.sidecar(
                            new StaticIdentitySource(pki.identity(MeshFixture.SLEEP_ID)),
                            Map.of("app", "sleep"),
                            none.port(),
                            MeshFixture.parse(SERVICES, entry));
        }
    }

    @AfterAll
    static void stop() {
        sleepSidecar.close();
        detailsSidecar.close();
        details.close();
    }

    @Test
    void appCallsAServiceThroughItsOutboundProxyAndTheCallerIdentityArrivesInXfcc()
            throws Exception {
        String proxy = "http://127.0.0.1:" + sleepSidecar.listenerAddress(15001).getPort();
        Processes.Result r =
                Processes.curl(
                        "-x", proxy, "http://details.default.svc.cluster.local:9080/details/0");
        assertThat(r.status()).as(r.err()).isEqualTo(200);
        assertThat(r.body())
                .contains(
                        "backend=details",
                        "path=/details/0",
                        "host: details.default.svc.cluster.local:9080");
        assertThat(r.body())
                .containsPattern(
                        "x-forwarded-client-cert: By=spiffe://example.org/ns/default/sa/bookinfo-details;"
                                + "Hash=[0-9a-f]{64};Subject=\"\";URI="
                                + MeshFixture.SLEEP_ID);
    }

    @Test
    void outboundProxyAnswers404ForAHostTheMeshDoesNotKnow() throws Exception {
        String proxy = "http://127.0.0.1:" + sleepSidecar.listenerAddress(15001).getPort();
        assertThat(Processes.curl("-x", proxy, "http://unknown.example.com/").status())
                .isEqualTo(404);
    }

    @Test
    void permissiveInboundAcceptsPlaintextToo() throws Exception {
        Processes.Result r =
                Processes.curl(
                        "http://127.0.0.1:"
                                + detailsSidecar.listenerAddress(9080).getPort()
                                + "/details/1");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body()).contains("backend=details").doesNotContain("x-forwarded-client-cert");
    }
}
