package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.mesh.config.ProxyNode;
import io.mithril.pki.Pem;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.StaticIdentitySource;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An egress gateway: plain HTTP in, TLS out to an external host declared by a ServiceEntry
 * (resolution DNS) with a DestinationRule SIMPLE origination, its CA file and SNI.
 */
class EgressGatewayTest {

    @Test
    void egressGatewayOriginatesTlsToAnExternalServiceWithSniAndVerifiesItsCertificate(
            @TempDir Path dir) throws Exception {
        Processes.Result r =
                callThroughEgress(
                        dir, "{mode: SIMPLE, sni: api.external.test, caCertificates: %s}", false);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).contains("backend=external", "path=/v1/things");
    }

    /**
     * The same over xDS (the control plane's XdsTranslator, then the proxy's XdsConfigTranslator):
     * with caCertificates the file decides; without, the system's trust store (istiod's
     * file-root:system), which does not hold the test CA, so the server is refused; with
     * insecureSkipVerify, the server is not verified at all, as Envoy does.
     */
    @Test
    void overXdsWithoutCaCertificatesTheSystemTrustStoreDecidesAndInsecureSkipVerifySkipsIt(
            @TempDir Path dir) throws Exception {
        Processes.Result withCa =
                callThroughEgress(
                        dir, "{mode: SIMPLE, sni: api.external.test, caCertificates: %s}", true);
        assertThat(withCa.status()).as(withCa.body()).isEqualTo(200);

        Processes.Result systemTrust =
                callThroughEgress(dir, "{mode: SIMPLE, sni: api.external.test}", true);
        assertThat(systemTrust.status()).as(systemTrust.body()).isEqualTo(503);
        assertThat(systemTrust.body()).contains("upstream connect error");

        Processes.Result insecure =
                callThroughEgress(
                        dir,
                        "{mode: SIMPLE, sni: api.external.test, insecureSkipVerify: true}",
                        true);
        assertThat(insecure.status()).as(insecure.body()).isEqualTo(200);
        assertThat(insecure.body()).contains("backend=external");
    }

    /**
     * Not verifying a server is the operator's choice, and it is said once per cluster at WARN, not
     * on every update.
     */
    @Test
    void insecureSkipVerifyIsLoggedOncePerClusterAtWarn(@TempDir Path dir) throws Exception {
        ch.qos.logback.classic.Logger logger =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(Proxy.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> log =
                new ch.qos.logback.core.read.ListAppender<>();
        log.start();
        logger.addAppender(log);
        try {
            for (boolean overXds : new boolean[] {false, true}) {
                log.list.clear();
                Processes.Result r =
                        callThroughEgress(
                                dir,
                                "{mode: SIMPLE, sni: api.external.test, insecureSkipVerify: true}",
                                overXds,
                                3);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                List<String> warned =
                        log.list.stream()
                                .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                                .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage)
                                .filter(m -> m.contains("insecureSkipVerify"))
                                .toList();
                assertThat(warned).as("over xDS: " + overXds).hasSize(1);
                assertThat(warned.get(0)).contains("outbound|443||api.external.test");
            }
            log.list.clear();
            callThroughEgress(
                    dir, "{mode: SIMPLE, sni: api.external.test, caCertificates: %s}", true, 2);
            assertThat(log.list)
                    .noneMatch(e -> e.getFormattedMessage().contains("insecureSkipVerify"));
        } finally {
            logger.detachAppender(log);
        }
    }

    /**
     * The DestinationRule's subjectAltNames are checked on the server's certificate (which names
     * api.external.test), from files and over xDS: a name it does not carry fails the handshake.
     */
    @Test
    void subjectAltNamesOfTheDestinationRuleAreCheckedOnTheServersCertificate(@TempDir Path dir)
            throws Exception {
        for (boolean overXds : new boolean[] {false, true}) {
            Processes.Result named =
                    callThroughEgress(
                            dir,
                            "{mode: SIMPLE, sni: api.external.test, caCertificates: %s, subjectAltNames: [api.external.test]}",
                            overXds);
            assertThat(named.status()).as("over xDS: %s, %s", overXds, named.body()).isEqualTo(200);
            Processes.Result other =
                    callThroughEgress(
                            dir,
                            "{mode: SIMPLE, sni: api.external.test, caCertificates: %s, subjectAltNames: [other.test]}",
                            overXds);
            assertThat(other.status()).as("over xDS: %s, %s", overXds, other.body()).isEqualTo(503);
            assertThat(other.body()).contains("upstream connect error");
        }
    }

    /**
     * curl -> egress gateway -> TLS with {@code tls} (a DestinationRule's, {@code %s} = the CA
     * file) -> "external" server.
     */
    private static Processes.Result callThroughEgress(Path dir, String tls, boolean overXds)
            throws Exception {
        return callThroughEgress(dir, tls, overXds, 1);
    }

    /**
     * As above, the egress configuration applied {@code applies} times (each a new configuration
     * snapshot).
     */
    private static Processes.Result callThroughEgress(
            Path dir, String tls, boolean overXds, int applies) throws Exception {
        TestPki pki = new TestPki("example.org");
        Identity externalId =
                pki.identity(
                        "spiffe://example.org/ns/external/sa/api", List.of("api.external.test"));
        Path cert = dir.resolve("external.pem");
        Path key = dir.resolve("external.key");
        Path ca = dir.resolve("ca.pem");
        Pem.writeCertificates(cert, externalId.chain());
        Pem.writePrivateKey(key, externalId.privateKey());
        Pem.writeCertificates(ca, List.of(pki.root));
        try (TestBackend app = new TestBackend("external");
                // The "external" TLS server: a gateway with SIMPLE TLS for api.external.test only
                // (SNI required).
                Proxy external =
                        MeshFixture.gateway(
                                pki.identity(MeshFixture.GATEWAY_ID),
                                MeshFixture.parse(
                                        """
                     apiVersion: networking.istio.io/v1
                     kind: Gateway
                     metadata: {name: ext, namespace: istio-system}
                     spec:
                       selector: {istio: ingressgateway}
                       servers:
                       - port: {number: 8080, name: https, protocol: HTTPS}
                         hosts: [api.external.test]
                         tls: {mode: SIMPLE, serverCertificate: %s, privateKey: %s}
                     ---
                     apiVersion: networking.istio.io/v1
                     kind: VirtualService
                     metadata: {name: ext, namespace: istio-system}
                     spec:
                       hosts: [api.external.test]
                       gateways: [ext]
                       http: [{route: [{destination: {host: app.default.svc.cluster.local}}]}]
                     ---
                     %s"""
                                                .formatted(
                                                        cert,
                                                        key,
                                                        RouteRulesTest.entry("app", app.port()))));
                Proxy egress =
                        Proxy.start(
                                ProxySettings.of(
                                        ProxyNode.gateway(
                                                "istio-system",
                                                Map.of("istio", "egressgateway"),
                                                "example.org"),
                                        Map.of(80, new InetSocketAddress("127.0.0.1", 0)),
                                        null),
                                new StaticIdentitySource(
                                        pki.identity(
                                                "spiffe://example.org/ns/istio-system/sa/egress")))) {
            int externalPort = external.listenerAddress(8080).getPort();
            List<io.mithril.mesh.model.Resource> egressConfig =
                    MeshFixture.parse(
                            """
                    apiVersion: networking.istio.io/v1
                    kind: ServiceEntry
                    metadata: {name: external-api, namespace: istio-system}
                    spec:
                      hosts: [api.external.test]
                      location: MESH_EXTERNAL
                      resolution: DNS
                      ports: [{number: 443, name: https, protocol: HTTPS}]
                      endpoints: [{address: localhost, ports: {https: %d}}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: DestinationRule
                    metadata: {name: external-api, namespace: istio-system}
                    spec:
                      host: api.external.test
                      trafficPolicy: {tls: %s}
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: Gateway
                    metadata: {name: egress, namespace: istio-system}
                    spec:
                      selector: {istio: egressgateway}
                      servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [api.external.test]}]
                    ---
                    apiVersion: networking.istio.io/v1
                    kind: VirtualService
                    metadata: {name: egress, namespace: istio-system}
                    spec:
                      hosts: [api.external.test]
                      gateways: [egress]
                      http: [{route: [{destination: {host: api.external.test, port: {number: 443}}}]}]
                    """
                                    .formatted(externalPort, tls.formatted(ca)));
            for (int i = 0; i < applies; i++) {
                if (overXds) {
                    egress.applyCompiled(
                            io.mithril.proxy.xds.XdsConfigTranslatorTest.roundTrip(
                                    io.mithril.mesh.compile.MeshCompiler.compile(
                                            egressConfig, egress.settings().node())));
                } else {
                    egress.apply(egressConfig);
                }
            }
            String url = "http://127.0.0.1:" + egress.listenerAddress(80).getPort() + "/v1/things";
            return Processes.curl("-H", "Host: api.external.test", url);
        }
    }
}
