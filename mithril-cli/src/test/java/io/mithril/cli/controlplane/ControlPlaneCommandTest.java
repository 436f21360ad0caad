package io.mithril.cli.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mithril.cli.Main;
import io.mithril.controlplane.k8s.KubernetesConfigMirror;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.mesh.config.ProxyConfig;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.pki.KeyType;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.StaticIdentitySource;
import io.mithril.proxy.xds.XdsClient;
import io.mithril.proxy.xds.XdsNodes;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code mithril controlplane run} as a real process, {@code mithril controlplane status} against
 * it.
 */
class ControlPlaneCommandTest {

    static final SpiffeId ISTIOD = SpiffeId.parse("spiffe://example.org/ns/istio-system/sa/istiod");
    static final SpiffeId GATEWAY =
            SpiffeId.parse(
                    "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account");

    @TempDir Path dir;

    final TestWorkloadApi.Ca ca = new TestWorkloadApi.Ca("example.org");
    TestWorkloadApi workloadApi;
    Process process;
    XdsClient client;

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (process != null) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
        if (workloadApi != null) {
            workloadApi.close();
        }
    }

    record Result(int exit, String out, String err) {}

    static Result mithril(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    Process start(Path config, String... more) throws IOException {
        List<String> command =
                new java.util.ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-cp",
                                System.getProperty("java.class.path"),
                                "io.mithril.cli.Main",
                                "controlplane",
                                "run",
                                "-config",
                                config.toString()));
        command.addAll(List.of(more));
        ProcessBuilder pb =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("controlplane.log").toFile());
        return pb.start();
    }

    static final String BOOKINFO_GATEWAY =
            """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata:
              name: bookinfo-gateway
              namespace: istio-system
            spec:
              selector:
                istio: ingressgateway
              servers:
              - port: {number: 8080, name: http, protocol: HTTP}
                hosts: ["*"]
            """;

    /**
     * A control plane configuration serving {@code mesh} on {@code port}, its admin on {@code
     * adminPort}.
     */
    Path config(int port, int adminPort) throws IOException {
        Path conf = dir.resolve("controlplane.conf");
        Files.writeString(
                conf,
                """
                control_plane {
                  bind_address  = "127.0.0.1"
                  bind_port     = "%d"
                  admin_port    = %d
                  socket_path   = "%s"
                  config_dir    = "mesh"
                  trust_domain  = "example.org"
                  spiffe_id     = "%s"
                }
                """
                        .formatted(port, adminPort, workloadApi.address(), ISTIOD));
        return conf;
    }

    /**
     * Connects over ADS as the ingress gateway {@code gw-1} and returns its first configuration.
     */
    ProxyConfig connectGateway(int port) throws Exception {
        KeyPair key = KeyType.EC_P256.generate();
        X509Certificate leaf =
                ca.minter.signX509Svid(
                        ca.authority, key.getPublic(), GATEWAY, List.of(), Duration.ofHours(1));
        StaticIdentitySource gw =
                new StaticIdentitySource(
                        new Identity(
                                GATEWAY,
                                List.of(leaf),
                                key.getPrivate(),
                                Map.of(ca.trustDomain, List.of(ca.root))));
        ProxyNode gwNode =
                ProxyNode.gateway("istio-system", Map.of("istio", "ingressgateway"), "example.org");
        BlockingQueue<ProxyConfig> got = new LinkedBlockingQueue<>();
        client =
                XdsClient.start(
                        "127.0.0.1:" + port,
                        ISTIOD,
                        gw,
                        XdsNodes.of(gwNode, "127.0.0.1", "gw-1"),
                        gwNode,
                        got::add);
        ProxyConfig config = got.poll(30, TimeUnit.SECONDS);
        assertThat(config).as("a configuration from the control plane process").isNotNull();
        return config;
    }

    String log() throws IOException {
        return Files.readString(dir.resolve("controlplane.log"));
    }

    @Test
    void runServesTheDirectoryToAProxyAndStatusShowsIt() throws Exception {
        workloadApi = new TestWorkloadApi(ca, ISTIOD);
        Path mesh = Files.createDirectories(dir.resolve("mesh"));
        Files.writeString(
                mesh.resolve("gateway.yaml"), BOOKINFO_GATEWAY.replace("/v1\n", "/v1beta1\n"));
        int port = freePort();
        int adminPort = freePort();
        Path conf = config(port, adminPort);
        process = start(conf);
        String admin = "127.0.0.1:" + adminPort;
        await(
                "the admin endpoint",
                () -> mithril("controlplane", "status", "-adminAddress", admin).exit() == 0);

        String nodeId = "router~127.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local";
        ProxyConfig config = connectGateway(port);
        assertThat(config.listeners()).isNotEmpty();

        await(
                "SYNCED in status",
                () ->
                        mithril("controlplane", "status", "-adminAddress", admin)
                                .out()
                                .contains("SYNCED"));
        Result status = mithril("controlplane", "status", "-config", conf.toString());
        assertThat(status.exit()).isEqualTo(0);
        assertThat(status.out())
                .contains("Control plane: " + ISTIOD)
                .contains("gw-1.istio-system")
                .contains(GATEWAY.toString())
                .contains("gateway")
                .containsPattern("STATUS +CDS +LDS +EDS +RDS")
                .containsPattern(
                        java.util.regex.Pattern.quote(GATEWAY.toString())
                                + " +gateway +istio-system +SYNCED +SYNCED +SYNCED ");
        String lds = client.versions().get(XdsClient.LDS);
        assertThat(
                        mithril("controlplane", "status", "-adminAddress", admin, "-output", "json")
                                .out())
                .contains("\"nodeId\" : \"" + nodeId + "\"")
                .contains("\"LDS\" : \"" + lds + "\"");
        Result nodes = mithril("controlplane", "config-dump", "-config", conf.toString());
        assertThat(nodes.exit()).isEqualTo(0);
        assertThat(nodes.out()).contains(nodeId);
        Result unknown =
                mithril(
                        "controlplane",
                        "config-dump",
                        "-adminAddress",
                        admin,
                        "sidecar~1.2.3.4~x.default~default.svc.cluster.local");
        assertThat(unknown.exit()).isEqualTo(1);
        assertThat(unknown.err())
                .contains(
                        "no xDS node sidecar~1.2.3.4~x.default~default.svc.cluster.local is connected");

        process.destroy();
        assertThat(process.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(log())
                .contains("control plane serving xDS (ADS)")
                .contains("xDS node connected: " + nodeId + " as " + GATEWAY);
    }

    @Test
    void runWithKubeconfigServesTheIstioResourcesOfTheKubernetesApi() throws Exception {
        workloadApi = new TestWorkloadApi(ca, ISTIOD);
        try (MockKubernetes k8s = new MockKubernetes()) {
            for (ResourceDefinitionContext r : KubernetesConfigMirror.RESOURCES) {
                k8s.serveCustomResource(
                        r.getGroup(), r.getVersion(), r.getKind(), r.getPlural(), true);
            }
            ResourceDefinitionContext gateways =
                    KubernetesConfigMirror.RESOURCES.stream()
                            .filter(r -> r.getKind().equals("Gateway"))
                            .findFirst()
                            .orElseThrow();
            k8s.client()
                    .genericKubernetesResources(gateways)
                    .inNamespace("istio-system")
                    .resource(
                            Serialization.unmarshal(
                                    BOOKINFO_GATEWAY, GenericKubernetesResource.class))
                    .create();
            Files.createDirectories(
                    dir.resolve("mesh")); // empty: every resource comes from the API server
            int port = freePort();
            int httpPort = freePort();
            process =
                    start(
                            config(port, freePort()),
                            "-kubeconfig",
                            k8s.kubeconfig(dir.resolve("kubeconfig")).toString(),
                            "-httpAddr",
                            "127.0.0.1:" + httpPort);

            ProxyConfig config = connectGateway(port);
            assertThat(config.listeners()).extracting(l -> l.port()).contains(8080);
            // istiod's readiness endpoint, for the kubelet's probe: /ready only, nothing of the
            // admin endpoint.
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.net.URI base = java.net.URI.create("http://127.0.0.1:" + httpPort);
            await(
                    "/ready",
                    () -> {
                        try {
                            return http.send(
                                                    java.net.http.HttpRequest.newBuilder(
                                                                    base.resolve("/ready"))
                                                            .build(),
                                                    java.net.http.HttpResponse.BodyHandlers
                                                            .ofString())
                                            .statusCode()
                                    == 200;
                        } catch (IOException | InterruptedException e) {
                            return false;
                        }
                    });
            assertThat(
                            http.send(
                                            java.net.http.HttpRequest.newBuilder(
                                                            base.resolve("/debug/syncz"))
                                                    .build(),
                                            java.net.http.HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .isEqualTo(404);
            assertThat(dir.resolve("mesh/k8s-gateway-istio-system_bookinfo-gateway.yaml")).exists();
            assertThat(log()).contains("reading Istio resources from the Kubernetes API");
        }
    }

    @Test
    void runWithAnUnreadableKubeconfigNamesIt() throws Exception {
        workloadApi = new TestWorkloadApi(ca, ISTIOD);
        Path missing = dir.resolve("no-such-kubeconfig");
        Result r =
                mithril(
                        "controlplane",
                        "run",
                        "-config",
                        config(freePort(), freePort()).toString(),
                        "-kubeconfig",
                        missing.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("-kubeconfig " + missing).contains("cannot be read");
    }

    @Test
    void runWithAnotherSvidThanSpiffeIdFailsWithAClearError() throws Exception {
        workloadApi =
                new TestWorkloadApi(
                        ca, SpiffeId.parse("spiffe://example.org/ns/default/sa/not-istiod"));
        Files.createDirectories(dir.resolve("mesh"));
        Path conf = dir.resolve("controlplane.conf");
        Files.writeString(
                conf,
                """
                control_plane {
                  bind_port    = 0
                  admin_port   = 0
                  socket_path  = "%s"
                  config_dir   = "mesh"
                  trust_domain = "example.org"
                  spiffe_id    = "%s"
                }
                """
                        .formatted(workloadApi.address(), ISTIOD));
        Result r =
                mithril("controlplane", "run", "-config", conf.toString(), "-svidTimeout", "10s");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err())
                .startsWith("Error: ")
                .contains("spiffe://example.org/ns/default/sa/not-istiod")
                .contains("spiffe_id " + ISTIOD);
    }

    @Test
    void runWithATypoInTheConfigNamesTheKey() throws Exception {
        Path conf = dir.resolve("controlplane.conf");
        Files.writeString(conf, "control_plane {\n  trust_domian = \"example.org\"\n}\n");
        Result r = mithril("controlplane", "run", "-config", conf.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err())
                .contains("controlplane.conf:2")
                .contains("trust_domian")
                .contains("trust_domain");
    }

    @Test
    void statusWithoutARunningControlPlaneSaysSo() throws Exception {
        Result r = mithril("controlplane", "status", "-adminAddress", "127.0.0.1:" + freePort());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("Error: cannot reach the control plane admin endpoint");
    }

    @Test
    void proxyWithControlPlaneButNoControlPlaneIdIsAUserError() {
        Result r =
                mithril(
                        "proxy",
                        "gateway",
                        "-label",
                        "istio=ingressgateway",
                        "-controlPlane",
                        "127.0.0.1:15012");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("Error: -controlPlane needs -controlPlaneID SPIFFE_ID");
    }

    @Test
    void proxyWithBothConfigDirAndControlPlaneIsAUserError() {
        Result r =
                mithril(
                        "proxy",
                        "sidecar",
                        "-configDir",
                        dir.toString(),
                        "-controlPlane",
                        "127.0.0.1:15012",
                        "-controlPlaneID",
                        ISTIOD.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err())
                .startsWith("Error: give either -configDir DIR or -controlPlane HOST:PORT");
    }

    @Test
    void proxyWithMalformedControlPlaneIdIsAUserError() {
        Result r =
                mithril(
                        "proxy",
                        "gateway",
                        "-label",
                        "istio=ingressgateway",
                        "-controlPlane",
                        "127.0.0.1:15012",
                        "-controlPlaneID",
                        "https://istiod");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("Error: -controlPlaneID https://istiod: ");
    }
}
