package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.pki.Pem;
import io.mithril.proxy.identity.Identity;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AuthorizationPolicy on mTLS principals, outlier detection, and a SIMPLE TLS server from files.
 */
class PolicyAndResilienceTest {

    @Test
    void allowPolicyOnPrincipalsLetsSleepInAndRefusesAnotherWorkloadWith403(@TempDir Path dir)
            throws Exception {
        TestPki pki = new TestPki("example.org");
        try (TestBackend app = new TestBackend("productpage");
                Proxy gw =
                        MeshFixture.gateway(
                                pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                                MeshFixture.parse(
                                        MeshFixture.SEED.replace(
                                                "host: \"*.svc.cluster.local\"",
                                                "host: \"*.nothing.local\""),
                                        MeshFixture.productpageEntry(
                                                app.port(), "bookinfo-productpage"),
                                        """
                             apiVersion: security.istio.io/v1
                             kind: AuthorizationPolicy
                             metadata: {name: only-sleep, namespace: istio-system}
                             spec:
                               selector: {matchLabels: {istio: ingressgateway}}
                               action: ALLOW
                               rules:
                               - from: [{source: {principals: ["example.org/ns/default/sa/sleep"]}}]
                                 to: [{operation: {methods: [GET], paths: ["/productpage", "/api/*"]}}]
                             """))) {
            int port = gw.listenerAddress(8080).getPort();
            TestPki.Files sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
            TestPki.Files other =
                    TestPki.write(
                            pki.identity("spiffe://example.org/ns/default/sa/other"), dir, "other");
            String url = "https://app.example.org:" + port;
            String[] common = {
                "--cacert",
                sleep.bundle().toString(),
                "--resolve",
                "app.example.org:" + port + ":127.0.0.1"
            };
            Processes.Result ok =
                    Processes.curl(
                            concat(
                                    common,
                                    "--cert",
                                    sleep.cert().toString(),
                                    "--key",
                                    sleep.key().toString(),
                                    url + "/productpage"));
            assertThat(ok.status()).isEqualTo(200);
            Processes.Result post =
                    Processes.curl(
                            concat(
                                    common,
                                    "--cert",
                                    sleep.cert().toString(),
                                    "--key",
                                    sleep.key().toString(),
                                    "-X",
                                    "POST",
                                    url + "/productpage"));
            assertThat(post.status()).isEqualTo(403);
            Processes.Result denied =
                    Processes.curl(
                            concat(
                                    common,
                                    "--cert",
                                    other.cert().toString(),
                                    "--key",
                                    other.key().toString(),
                                    url + "/productpage"));
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.body()).isEqualTo("RBAC: access denied");
        }
    }

    static String[] concat(String[] a, String... b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void outlierDetectionEjectsAnEndpointThatFailsSoTheHealthyOneTakesTheTraffic()
            throws Exception {
        TestPki pki = new TestPki("example.org");
        int dead;
        try (java.net.ServerSocket s =
                new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        try (TestBackend good = new TestBackend("good");
                Proxy gw =
                        MeshFixture.gateway(
                                pki.identity(MeshFixture.GATEWAY_ID),
                                MeshFixture.parse(
                                        """
                     apiVersion: networking.istio.io/v1
                     kind: ServiceEntry
                     metadata: {name: svc, namespace: default}
                     spec:
                       hosts: [svc.default.svc.cluster.local]
                       resolution: STATIC
                       ports: [{number: 80, name: http, protocol: HTTP}]
                       endpoints:
                       - {address: 127.0.0.1, ports: {http: %d}}
                       - {address: 127.0.0.1, ports: {http: %d}}
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: DestinationRule
                     metadata: {name: svc, namespace: default}
                     spec:
                       host: svc.default.svc.cluster.local
                       trafficPolicy:
                         loadBalancer: {simple: ROUND_ROBIN}
                         outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50}
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: Gateway
                     metadata: {name: gw, namespace: istio-system}
                     spec:
                       selector: {istio: ingressgateway}
                       servers: [{port: {number: 8081, name: http, protocol: HTTP}, hosts: ["*"]}]
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: VirtualService
                     metadata: {name: vs, namespace: istio-system}
                     spec:
                       hosts: ["*"]
                       gateways: [gw]
                       http: [{route: [{destination: {host: svc.default.svc.cluster.local}}], retries: {attempts: 0}}]
                     """
                                                .formatted(dead, good.port())))) {
            String url = "http://127.0.0.1:" + gw.listenerAddress(8081).getPort() + "/";
            int failures = 0;
            for (int i = 0; i < 10; i++) {
                if (Processes.curl(url).status() != 200) {
                    failures++;
                }
            }
            assertThat(failures)
                    .as("only the first request to the dead endpoint fails, then it is ejected")
                    .isEqualTo(1);
            assertThat(good.requests.get()).isEqualTo(9);
        }
    }

    @Test
    void simpleTlsServerUsesTheCertificateFilesOfTheGateway(@TempDir Path dir) throws Exception {
        TestPki pki = new TestPki("example.org");
        Identity serverId =
                pki.identity(
                        "spiffe://example.org/ns/istio-system/sa/files",
                        List.of("files.example.org"));
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Path ca = dir.resolve("ca.pem");
        Pem.writeCertificates(cert, serverId.chain());
        Pem.writePrivateKey(key, serverId.privateKey());
        Pem.writeCertificates(ca, List.of(pki.root));
        try (TestBackend app = new TestBackend("files");
                Proxy gw =
                        MeshFixture.gateway(
                                pki.identity(MeshFixture.GATEWAY_ID),
                                MeshFixture.parse(
                                        """
                     apiVersion: networking.istio.io/v1
                     kind: Gateway
                     metadata: {name: gw, namespace: istio-system}
                     spec:
                       selector: {istio: ingressgateway}
                       servers:
                       - port: {number: 8080, name: https, protocol: HTTPS}
                         hosts: [files.example.org]
                         tls: {mode: SIMPLE, serverCertificate: %s, privateKey: %s}
                       - port: {number: 8081, name: http, protocol: HTTP}
                         hosts: [files.example.org]
                         tls: {httpsRedirect: true}
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: VirtualService
                     metadata: {name: vs, namespace: istio-system}
                     spec:
                       hosts: [files.example.org]
                       gateways: [gw]
                       http: [{route: [{destination: {host: files.default.svc.cluster.local}}]}]
                     ---
                     %s"""
                                                .formatted(
                                                        cert,
                                                        key,
                                                        RouteRulesTest.entry(
                                                                "files", app.port()))))) {
            int port = gw.listenerAddress(8080).getPort();
            Processes.Result r =
                    Processes.curl(
                            "--cacert",
                            ca.toString(),
                            "--resolve",
                            "files.example.org:" + port + ":127.0.0.1",
                            "https://files.example.org:" + port + "/x");
            assertThat(r.status()).as(r.err()).isEqualTo(200);
            assertThat(r.body())
                    .contains("backend=files")
                    .doesNotContain("x-forwarded-client-cert");
            Processes.Result wrongSni =
                    Processes.curl(
                            "--cacert",
                            ca.toString(),
                            "-k",
                            "--resolve",
                            "other.example.org:" + port + ":127.0.0.1",
                            "https://other.example.org:" + port + "/x");
            assertThat(wrongSni.out().strip())
                    .as("no filter chain takes SNI other.example.org")
                    .isEqualTo("000");
            int http = gw.listenerAddress(8081).getPort();
            Processes.Result redirect =
                    Processes.curl(
                            "-i",
                            "-H",
                            "Host: files.example.org",
                            "http://127.0.0.1:" + http + "/x");
            assertThat(redirect.status()).isEqualTo(301);
            assertThat(redirect.out())
                    .containsIgnoringCase("location: https://files.example.org/x");
        }
    }
}
