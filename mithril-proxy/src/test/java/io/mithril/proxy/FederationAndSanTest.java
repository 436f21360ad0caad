package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Federated trust domains and the Gateway's {@code tls.subjectAltNames}. */
class FederationAndSanTest {

    static String gatewayYaml(String sans) {
        return """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8080, name: https, protocol: HTTPS}
                    hosts: ["*"]
                    tls: {mode: ISTIO_MUTUAL%s}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: vs, namespace: istio-system}
                spec:
                  hosts: ["*"]
                  gateways: [gw]
                  http: [{directResponse: {status: 200, body: {string: "hello"}}}]
                """
                .formatted(sans);
    }

    static Processes.Result call(Proxy gw, TestPki.Files client, Path cacert) throws Exception {
        int port = gw.listenerAddress(8080).getPort();
        return Processes.curl(
                "--cert",
                client.cert().toString(),
                "--key",
                client.key().toString(),
                "--cacert",
                cacert.toString(),
                "--resolve",
                "app.example.org:" + port + ":127.0.0.1",
                "https://app.example.org:" + port + "/");
    }

    @Test
    void anSvidOfAFederatedTrustDomainIsAcceptedWithItsOwnBundleOnly(@TempDir Path dir)
            throws Exception {
        TestPki example = new TestPki("example.org");
        TestPki domainTest = new TestPki("domain.test");
        Map<TrustDomain, List<X509Certificate>> federated =
                Map.of(domainTest.trustDomain, List.of(domainTest.root));
        try (Proxy gw =
                MeshFixture.gateway(
                        example.identity(
                                MeshFixture.GATEWAY_ID, List.of("app.example.org"), federated),
                        MeshFixture.parse(gatewayYaml("")))) {
            TestPki.Files local =
                    TestPki.write(example.identity(MeshFixture.SLEEP_ID), dir, "local");
            TestPki.Files remote =
                    TestPki.write(
                            domainTest.identity("spiffe://domain.test/ns/default/sa/sleep"),
                            dir,
                            "remote");
            assertThat(call(gw, local, local.bundle()).status()).isEqualTo(200);
            assertThat(call(gw, remote, local.bundle()).status()).isEqualTo(200);
            // A domain.test root does not vouch for an example.org ID: bundles are per trust
            // domain.
            TestPki impostorCa = new TestPki("domain.test");
            TestPki.Files signedByOther =
                    TestPki.write(
                            impostorCa.identity("spiffe://domain.test/ns/default/sa/sleep"),
                            dir,
                            "other");
            assertThat(call(gw, signedByOther, local.bundle()).out().strip()).isEqualTo("000");
        }
    }

    @Test
    void gatewaySubjectAltNamesRestrictWhichClientsMayConnect(@TempDir Path dir) throws Exception {
        TestPki pki = new TestPki("example.org");
        try (Proxy gw =
                MeshFixture.gateway(
                        pki.identity(MeshFixture.GATEWAY_ID, List.of("app.example.org")),
                        MeshFixture.parse(
                                gatewayYaml(
                                        ", subjectAltNames: [\""
                                                + MeshFixture.SLEEP_ID
                                                + "\"]")))) {
            TestPki.Files sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
            TestPki.Files other =
                    TestPki.write(
                            pki.identity("spiffe://example.org/ns/default/sa/other"), dir, "other");
            Processes.Result ok = call(gw, sleep, sleep.bundle());
            assertThat(ok.status()).isEqualTo(200);
            assertThat(ok.body()).isEqualTo("hello");
            assertThat(call(gw, other, sleep.bundle()).out().strip()).isEqualTo("000");
        }
    }
}
