package io.mithril.cli.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.mithril.controlplane.xds.PgvRules;
import io.mithril.controlplane.xds.XdsNode;
import io.mithril.mesh.config.ProxyNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mithril proxy bootstrap --envoy}, run as a process: the file it writes parses back into
 * Envoy's {@code Bootstrap} (unknown fields refused), passes Envoy's own validation rules, and
 * carries the node, ADS and SDS wiring the control plane and the agent expect.
 */
class BootstrapCommandTest {

    static final String ISTIOD = "spiffe://example.org/ns/istio-system/sa/istiod";

    @TempDir Path dir;

    record Result(int exit, String out, String err) {}

    /** The real command in its own JVM, as a user runs it. */
    static Result mithril(String... args) throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                                "-XX:+UseSerialGC",
                                "-XX:TieredStopAtLevel=1",
                                "-cp",
                                System.getProperty("java.class.path"),
                                "io.mithril.cli.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(
                p.exitValue(),
                new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    /** Envoy's JSON parser's strictness: unknown fields are an error (no ignoringUnknownFields). */
    static Bootstrap parse(String json) throws IOException {
        Bootstrap.Builder b = Bootstrap.newBuilder();
        JsonFormat.parser().usingTypeRegistry(BootstrapCommand.TYPES).merge(json, b);
        return b.build();
    }

    @Test
    void sidecarBootstrapIsEnvoysAndWiresAdsOverSdsMtls() throws Exception {
        Path file = dir.resolve("bootstrap.json");
        Result r =
                mithril(
                        "proxy",
                        "bootstrap",
                        "--envoy",
                        "sidecar",
                        "-label",
                        "app=productpage",
                        "-label",
                        "version=v1",
                        "-inbound",
                        "127.0.1.1:9080=127.0.1.1:19080",
                        "-outbound",
                        "127.0.1.1:15001",
                        "-controlPlane",
                        "127.0.0.1:15012",
                        "-controlPlaneID",
                        ISTIOD,
                        "-socketPath",
                        "unix:///tmp/mithril/agent/public/api.sock",
                        "-admin",
                        "127.0.1.1:15000",
                        "-output",
                        file.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String json = Files.readString(file);
        Bootstrap b = parse(json);

        XdsNode node = XdsNode.parse(b.getNode());
        assertThat(node.kind()).isEqualTo(ProxyNode.Kind.SIDECAR);
        assertThat(node.id())
                .startsWith("sidecar~127.0.1.1~")
                .endsWith(".default~default.svc.cluster.local");
        assertThat(node.namespace()).isEqualTo("default");
        assertThat(node.labels()).isEqualTo(Map.of("app", "productpage", "version", "v1"));
        assertThat(node.inbound())
                .containsExactly(new ProxyNode.InboundPort("127.0.1.1", 9080, "127.0.1.1", 19080));
        assertThat(node.outboundAddress()).isEqualTo("127.0.1.1");
        assertThat(node.outboundPort()).isEqualTo(15001);
        assertThat(b.getNode().getMetadata().getFieldsMap().get("MITHRIL_INBOUND").getStringValue())
                .isEqualTo("127.0.1.1:9080=127.0.1.1:19080");
        assertThat(json)
                .contains("\"MITHRIL_INBOUND\" : \"127.0.1.1:9080=127.0.1.1:19080\"")
                .contains("\"MITHRIL_OUTBOUND\" : \"127.0.1.1:15001\"");

        checkAdsAndSds(b, Cluster.DiscoveryType.STATIC, "127.0.0.1", 15012);
        Address sds = endpoint(cluster(b, BootstrapCommand.SDS_CLUSTER));
        assertThat(sds.getPipe().getPath()).isEqualTo("/tmp/mithril/agent/public/api.sock");
        assertThat(b.getAdmin().getAddress().getSocketAddress().getAddress())
                .isEqualTo("127.0.1.1");
        assertThat(b.getAdmin().getAddress().getSocketAddress().getPortValue()).isEqualTo(15000);
        assertThat(json)
                .doesNotContain("private_key")
                .doesNotContain("inline_")
                .doesNotContain("BEGIN");
        assertValid(b);
    }

    @Test
    void gatewayBootstrapInYamlOnStandardOutputOrFile() throws Exception {
        Path file = dir.resolve("gateway.yaml");
        Result r =
                mithril(
                        "proxy",
                        "bootstrap",
                        "--envoy",
                        "gateway",
                        "-label",
                        "istio=ingressgateway",
                        "-controlPlane",
                        "istiod.example:15012",
                        "-controlPlaneID",
                        ISTIOD,
                        "-socketPath",
                        "/run/agent.sock",
                        "-output",
                        file.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String yaml = Files.readString(file);
        assertThat(yaml).contains("node:", "  id: \"router~");
        Bootstrap b = parse(new ObjectMapper().writeValueAsString(new YAMLMapper().readTree(yaml)));
        XdsNode node = XdsNode.parse(b.getNode());
        assertThat(node.kind()).isEqualTo(ProxyNode.Kind.GATEWAY);
        assertThat(node.namespace()).isEqualTo("istio-system");
        assertThat(node.labels()).isEqualTo(Map.of("istio", "ingressgateway"));
        assertThat(b.getNode().getCluster()).isEqualTo("istio-ingressgateway");
        checkAdsAndSds(b, Cluster.DiscoveryType.STRICT_DNS, "istiod.example", 15012);
        assertThat(endpoint(cluster(b, BootstrapCommand.SDS_CLUSTER)).getPipe().getPath())
                .isEqualTo("/run/agent.sock");
        assertThat(b.getAdmin().getAddress().getSocketAddress().getPortValue()).isEqualTo(15000);
        assertValid(b);

        Result stdout =
                mithril(
                        "proxy",
                        "bootstrap",
                        "--envoy",
                        "gateway",
                        "-label",
                        "istio=ingressgateway",
                        "-controlPlane",
                        "127.0.0.1:15012",
                        "-controlPlaneID",
                        ISTIOD,
                        "-socketPath",
                        "tcp://127.0.0.1:8081");
        assertThat(stdout.exit()).as(stdout.err()).isZero();
        Bootstrap fromStdout = parse(stdout.out());
        assertThat(
                        endpoint(cluster(fromStdout, BootstrapCommand.SDS_CLUSTER))
                                .getSocketAddress()
                                .getPortValue())
                .isEqualTo(8081);
        assertValid(fromStdout);
    }

    @Test
    void badInputNamesTheFlagAndExitsNonZero() throws Exception {
        String[] cp = {"-controlPlane", "127.0.0.1:15012"};
        Result noId =
                mithril(
                        concat(
                                new String[] {
                                    "proxy",
                                    "bootstrap",
                                    "--envoy",
                                    "gateway",
                                    "-label",
                                    "istio=ingressgateway"
                                },
                                cp));
        assertThat(noId.exit()).isEqualTo(1);
        assertThat(noId.err()).contains("Error: -controlPlane needs -controlPlaneID SPIFFE_ID");
        assertThat(noId.out()).isEmpty();

        Result badId =
                mithril(
                        concat(
                                new String[] {
                                    "proxy",
                                    "bootstrap",
                                    "--envoy",
                                    "sidecar",
                                    "-controlPlaneID",
                                    "http://x"
                                },
                                cp));
        assertThat(badId.exit()).isEqualTo(1);
        assertThat(badId.err()).contains("Error: -controlPlaneID http://x:");

        Path file = dir.resolve("never.json");
        Result badInbound =
                mithril(
                        concat(
                                new String[] {
                                    "proxy",
                                    "bootstrap",
                                    "--envoy",
                                    "sidecar",
                                    "-inbound",
                                    "9080",
                                    "-controlPlaneID",
                                    ISTIOD,
                                    "-output",
                                    file.toString()
                                },
                                cp));
        assertThat(badInbound.exit()).isEqualTo(1);
        assertThat(badInbound.err())
                .contains("Error: -inbound 9080: write [addr:]port=[appAddr:]appPort");
        assertThat(file).doesNotExist();

        Result noEnvoy =
                mithril(
                        concat(
                                new String[] {
                                    "proxy", "bootstrap", "sidecar", "-controlPlaneID", ISTIOD
                                },
                                cp));
        assertThat(noEnvoy.exit()).isEqualTo(1);
        assertThat(noEnvoy.err()).contains("Error: proxy bootstrap needs --envoy");

        Result noCp =
                mithril("proxy", "bootstrap", "--envoy", "sidecar", "-controlPlaneID", ISTIOD);
        assertThat(noCp.exit()).isEqualTo(2);
        assertThat(noCp.err()).contains("Missing required option: '--controlPlane=HOST:PORT'");

        Result gatewayInbound =
                mithril(
                        concat(
                                new String[] {
                                    "proxy",
                                    "bootstrap",
                                    "--envoy",
                                    "gateway",
                                    "-label",
                                    "istio=ingressgateway",
                                    "-inbound",
                                    "9080=19080",
                                    "-controlPlaneID",
                                    ISTIOD
                                },
                                cp));
        assertThat(gatewayInbound.exit()).isEqualTo(1);
        assertThat(gatewayInbound.err()).contains("Error: -inbound and -outbound are a sidecar's");

        Result badCp =
                mithril(
                        "proxy",
                        "bootstrap",
                        "--envoy",
                        "sidecar",
                        "-controlPlane",
                        "istiod",
                        "-controlPlaneID",
                        ISTIOD);
        assertThat(badCp.exit()).isEqualTo(1);
        assertThat(badCp.err()).contains("Error: -controlPlane istiod: write HOST:PORT");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /**
     * ADS over {@code xds-grpc} (mTLS from SDS, the control plane's URI SAN), SDS over {@code
     * sds-grpc}, both HTTP/2.
     */
    private static void checkAdsAndSds(
            Bootstrap b, Cluster.DiscoveryType type, String host, int port) throws Exception {
        ApiConfigSource ads = b.getDynamicResources().getAdsConfig();
        assertThat(ads.getApiType()).isEqualTo(ApiConfigSource.ApiType.GRPC);
        assertThat(ads.getTransportApiVersion()).isEqualTo(ApiVersion.V3);
        assertThat(ads.getSetNodeOnFirstMessageOnly())
                .as("XdsServer reads the node on every request")
                .isFalse();
        assertThat(ads.getGrpcServicesList())
                .singleElement()
                .satisfies(
                        g ->
                                assertThat(g.getEnvoyGrpc().getClusterName())
                                        .isEqualTo(BootstrapCommand.XDS_CLUSTER));
        for (ConfigSource c :
                List.of(
                        b.getDynamicResources().getLdsConfig(),
                        b.getDynamicResources().getCdsConfig())) {
            assertThat(c.hasAds()).isTrue();
            assertThat(c.getResourceApiVersion()).isEqualTo(ApiVersion.V3);
        }
        assertThat(b.getStaticResources().getClustersList())
                .extracting(Cluster::getName)
                .containsExactly(BootstrapCommand.XDS_CLUSTER, BootstrapCommand.SDS_CLUSTER);

        Cluster xds = cluster(b, BootstrapCommand.XDS_CLUSTER);
        assertThat(xds.getType()).isEqualTo(type);
        assertThat(endpoint(xds).getSocketAddress().getAddress()).isEqualTo(host);
        assertThat(endpoint(xds).getSocketAddress().getPortValue()).isEqualTo(port);
        assertHttp2(xds);
        assertThat(xds.getTransportSocket().getName()).isEqualTo("envoy.transport_sockets.tls");
        UpstreamTlsContext tls =
                xds.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        CommonTlsContext common = tls.getCommonTlsContext();
        assertThat(common.getTlsCertificatesList()).as("no inline certificate or key").isEmpty();
        assertThat(common.getAlpnProtocolsList()).containsExactly("h2");
        assertThat(common.getTlsCertificateSdsSecretConfigsList())
                .singleElement()
                .satisfies(s -> assertFromAgent(s, "default"));
        CommonTlsContext.CombinedCertificateValidationContext v =
                common.getCombinedValidationContext();
        assertFromAgent(v.getValidationContextSdsSecretConfig(), "ROOTCA");
        assertThat(v.getDefaultValidationContext().hasTrustedCa()).isFalse();
        assertThat(v.getDefaultValidationContext().getMatchTypedSubjectAltNamesList())
                .singleElement()
                .satisfies(
                        m -> {
                            assertThat(m.getSanType()).isEqualTo(SubjectAltNameMatcher.SanType.URI);
                            assertThat(m.getMatcher().getExact()).isEqualTo(ISTIOD);
                        });

        Cluster sds = cluster(b, BootstrapCommand.SDS_CLUSTER);
        assertThat(sds.getType()).isEqualTo(Cluster.DiscoveryType.STATIC);
        assertThat(sds.hasTransportSocket())
                .as("the agent's socket is local, attested by its kernel credentials")
                .isFalse();
        assertHttp2(sds);
    }

    private static void assertFromAgent(SdsSecretConfig s, String name) {
        assertThat(s.getName()).isEqualTo(name);
        ApiConfigSource api = s.getSdsConfig().getApiConfigSource();
        assertThat(api.getApiType()).isEqualTo(ApiConfigSource.ApiType.GRPC);
        assertThat(api.getTransportApiVersion()).isEqualTo(ApiVersion.V3);
        assertThat(api.getGrpcServicesList())
                .singleElement()
                .satisfies(
                        g ->
                                assertThat(g.getEnvoyGrpc().getClusterName())
                                        .isEqualTo(BootstrapCommand.SDS_CLUSTER));
        assertThat(s.getSdsConfig().getResourceApiVersion()).isEqualTo(ApiVersion.V3);
        assertThat(s.getSdsConfig().hasInitialFetchTimeout()).isTrue();
        assertThat(s.getSdsConfig().getInitialFetchTimeout().getSeconds()).isZero();
    }

    private static void assertHttp2(Cluster c) throws Exception {
        HttpProtocolOptions http =
                c.getTypedExtensionProtocolOptionsOrThrow(
                                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                        .unpack(HttpProtocolOptions.class);
        assertThat(http.getExplicitHttpConfig().hasHttp2ProtocolOptions()).isTrue();
    }

    private static Cluster cluster(Bootstrap b, String name) {
        return b.getStaticResources().getClustersList().stream()
                .filter(c -> c.getName().equals(name))
                .findFirst()
                .orElseThrow();
    }

    private static Address endpoint(Cluster c) {
        assertThat(c.getLoadAssignment().getClusterName()).isEqualTo(c.getName());
        return c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress();
    }

    /** Envoy's protoc-gen-validate rules, read from its protos by the control plane's PgvRules. */
    private static void assertValid(Bootstrap b) {
        PgvRules rules = new PgvRules(BootstrapCommand.TYPES);
        assertThat(rules.validate(b)).isEmpty();
        assertThat(rules.unchecked()).as("rule kinds PgvRules does not implement").isEmpty();
        assertThat(rules.checked()).isGreaterThan(20);
    }
}
