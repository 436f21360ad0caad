package io.mithril.cli.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.common.net.InetAddresses;
import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Admin;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.cli.Cli;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.proxy.xds.XdsNodes;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mithril proxy bootstrap --envoy gateway|sidecar}: an Envoy v3 bootstrap, so that real
 * Envoy can be the gateway or a sidecar. Its node is the one {@code proxy ... -controlPlane}
 * presents ({@link XdsNodes}); its configuration comes over ADS from the control plane through the
 * cluster {@value #XDS_CLUSTER} (mTLS: the SVID {@value #CERTIFICATE} and the bundle {@value
 * #ROOT_CA} from the agent's SDS, the control plane's URI SAN checked); SDS is the agent's socket,
 * cluster {@value #SDS_CLUSTER}, the names the control plane's resources use too. No key is ever
 * inline.
 */
@Command(
        name = "bootstrap",
        mixinStandardHelpOptions = true,
        description = {
            "Write an Envoy v3 bootstrap (--envoy, required: the only format for now) for a gateway or a sidecar: "
                    + "its node as our proxy presents it, ADS to -controlPlane over mTLS with the SVID from the agent's SDS, "
                    + "SDS on the agent's socket, the admin address.",
            "JSON, or YAML when -output ends in .yaml/.yml."
        })
final class BootstrapCommand implements Callable<Integer> {

    static final String XDS_CLUSTER = "xds-grpc";
    static final String SDS_CLUSTER = "sds-grpc";
    static final String CERTIFICATE = "default";
    static final String ROOT_CA = "ROOTCA";

    /** The types a bootstrap carries in {@code Any} fields, for printing and parsing it. */
    static final JsonFormat.TypeRegistry TYPES =
            JsonFormat.TypeRegistry.newBuilder()
                    .add(UpstreamTlsContext.getDescriptor())
                    .add(HttpProtocolOptions.getDescriptor())
                    .build();

    /** Which proxy the bootstrap is for. */
    enum Kind {
        gateway,
        sidecar
    }

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "gateway|sidecar",
            description = "The proxy Envoy will be: ${COMPLETION-CANDIDATES}")
    Kind kind;

    @Option(
            names = "--envoy",
            description = "Write Envoy's bootstrap (required for now: the only format)")
    boolean envoy;

    @Option(
            names = {"-namespace", "--namespace"},
            description =
                    "The proxy's namespace; default istio-system (gateway), default (sidecar)")
    String namespace;

    @Option(
            names = {"-label", "--label"},
            description = "Proxy label key=value (repeatable), e.g. istio=ingressgateway")
    List<String> labels = new ArrayList<>();

    @Option(
            names = {"-inbound", "--inbound"},
            description =
                    "Sidecar: [addr:]port=[appAddr:]appPort (repeatable), sent in the node metadata")
    List<String> inbound = new ArrayList<>();

    @Option(
            names = {"-outbound", "--outbound"},
            description =
                    "Sidecar: [addr:]port of the outbound HTTP proxy, sent in the node metadata; default 127.0.0.1:15001")
    String outbound;

    @Option(
            names = {"-controlPlane", "--controlPlane"},
            paramLabel = "HOST:PORT",
            required = true,
            description = "The control plane's xDS address")
    String controlPlane;

    @Option(
            names = {"-controlPlaneID", "--controlPlaneID"},
            paramLabel = "SPIFFE_ID",
            description =
                    "The only SPIFFE ID Envoy accepts from the control plane, e.g. spiffe://example.org/ns/istio-system/sa/istiod")
    String controlPlaneId;

    @Option(
            names = {"-socketPath", "--socketPath"},
            description =
                    "The agent's Workload API / SDS socket (path, unix:///path or tcp://ip:port); "
                            + "default: $SPIFFE_ENDPOINT_SOCKET, else "
                            + WorkloadApiAddress.DEFAULT_SOCKET_PATH)
    String socketPath;

    @Option(
            names = {"-admin", "--admin"},
            description = "Envoy's admin address [addr:]port; default ${DEFAULT-VALUE}")
    String admin = "127.0.0.1:15000";

    @Option(
            names = {"-output", "--output"},
            paramLabel = "FILE",
            description = "Write here (default: standard output); .yaml/.yml for YAML")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (!envoy) {
            throw new Cli.UserException(
                    "proxy bootstrap needs --envoy: Envoy's bootstrap is the only format it writes for now");
        }
        Bootstrap bootstrap = build();
        String json =
                JsonFormat.printer()
                        .usingTypeRegistry(TYPES)
                        .preservingProtoFieldNames()
                        .print(bootstrap);
        boolean yaml =
                output != null
                        && output.getFileName()
                                .toString()
                                .toLowerCase(Locale.ROOT)
                                .matches(".*\\.ya?ml");
        // through Jackson: JsonFormat writes '=' as a Unicode escape, valid but hard to read
        JsonNode tree = new ObjectMapper().readTree(json);
        String text =
                yaml
                        ? new YAMLMapper().writeValueAsString(tree)
                        : new ObjectMapper()
                                        .writerWithDefaultPrettyPrinter()
                                        .writeValueAsString(tree)
                                + "\n";
        if (output == null) {
            PrintWriter out = spec.commandLine().getOut();
            out.print(text);
            out.flush();
        } else {
            Files.writeString(output, text);
        }
        return 0;
    }

    /** The bootstrap the options describe. */
    Bootstrap build() {
        SpiffeId cpId = ControlPlaneOptions.controlPlaneId(controlPlaneId);
        Kind k = kind;
        if (k == Kind.gateway && (!inbound.isEmpty() || outbound != null)) {
            throw new Cli.UserException(
                    "-inbound and -outbound are a sidecar's; a gateway's listeners come from its Gateways");
        }
        String td = cpId.trustDomain().name();
        ProxyNode node =
                k == Kind.gateway
                        ? ProxyCommand.gatewayNode(
                                namespace != null ? namespace : "istio-system",
                                ProxyCommand.labels(labels),
                                td)
                        : ProxyCommand.sidecarNode(
                                namespace != null ? namespace : "default",
                                ProxyCommand.labels(labels),
                                td,
                                inbound,
                                outbound != null ? outbound : "127.0.0.1:15001");
        int colon = controlPlane.lastIndexOf(':');
        if (colon <= 0) {
            throw new Cli.UserException(
                    "-controlPlane "
                            + controlPlane
                            + ": write HOST:PORT, e.g. -controlPlane 127.0.0.1:15012");
        }
        String cpHost = controlPlane.substring(0, colon).replaceAll("^\\[(.*)]$", "$1");
        int cpPort =
                ProxyCommand.port(
                        controlPlane.substring(colon + 1), "-controlPlane " + controlPlane);
        InetSocketAddress adminAddress =
                ProxyCommand.address(admin, "127.0.0.1", "-admin " + admin);
        WorkloadApiAddress agent = ProxyCommand.socketPath(socketPath);

        Cluster xds =
                Cluster.newBuilder()
                        .setName(XDS_CLUSTER)
                        .setType(
                                InetAddresses.isInetAddress(cpHost)
                                        ? Cluster.DiscoveryType.STATIC
                                        : Cluster.DiscoveryType.STRICT_DNS)
                        .setConnectTimeout(Duration.newBuilder().setSeconds(1))
                        .putTypedExtensionProtocolOptions(HTTP_OPTIONS, http2())
                        .setLoadAssignment(endpoint(XDS_CLUSTER, socket(cpHost, cpPort)))
                        .setTransportSocket(
                                TransportSocket.newBuilder()
                                        .setName("envoy.transport_sockets.tls")
                                        .setTypedConfig(
                                                Any.pack(
                                                        UpstreamTlsContext.newBuilder()
                                                                .setCommonTlsContext(
                                                                        CommonTlsContext
                                                                                .newBuilder()
                                                                                // grpc-java servers
                                                                                // insist on ALPN h2
                                                                                .addAlpnProtocols(
                                                                                        "h2")
                                                                                .addTlsCertificateSdsSecretConfigs(
                                                                                        sds(
                                                                                                CERTIFICATE))
                                                                                .setCombinedValidationContext(
                                                                                        CommonTlsContext
                                                                                                .CombinedCertificateValidationContext
                                                                                                .newBuilder()
                                                                                                .setDefaultValidationContext(
                                                                                                        CertificateValidationContext
                                                                                                                .newBuilder()
                                                                                                                .addMatchTypedSubjectAltNames(
                                                                                                                        SubjectAltNameMatcher
                                                                                                                                .newBuilder()
                                                                                                                                .setSanType(
                                                                                                                                        SubjectAltNameMatcher
                                                                                                                                                .SanType
                                                                                                                                                .URI)
                                                                                                                                .setMatcher(
                                                                                                                                        StringMatcher
                                                                                                                                                .newBuilder()
                                                                                                                                                .setExact(
                                                                                                                                                        cpId
                                                                                                                                                                .toString()))))
                                                                                                .setValidationContextSdsSecretConfig(
                                                                                                        sds(
                                                                                                                ROOT_CA))))
                                                                .build())))
                        .build();
        Cluster sds =
                Cluster.newBuilder()
                        .setName(SDS_CLUSTER)
                        .setType(Cluster.DiscoveryType.STATIC)
                        .setConnectTimeout(Duration.newBuilder().setSeconds(1))
                        .putTypedExtensionProtocolOptions(HTTP_OPTIONS, http2())
                        .setLoadAssignment(
                                endpoint(
                                        SDS_CLUSTER,
                                        agent.isUnix()
                                                ? Address.newBuilder()
                                                        .setPipe(
                                                                Pipe.newBuilder()
                                                                        .setPath(
                                                                                agent.unixPath()
                                                                                        .toString()))
                                                        .build()
                                                : socket(
                                                        agent.tcpAddress().getHostString(),
                                                        agent.tcpAddress().getPort())))
                        .build();
        ConfigSource ads =
                ConfigSource.newBuilder()
                        .setAds(AggregatedConfigSource.getDefaultInstance())
                        .setResourceApiVersion(ApiVersion.V3)
                        .build();
        return Bootstrap.newBuilder()
                .setNode(XdsNodes.of(node, XdsOptions.ip(node), XdsOptions.podName()))
                .setDynamicResources(
                        Bootstrap.DynamicResources.newBuilder()
                                .setAdsConfig(grpc(XDS_CLUSTER))
                                .setLdsConfig(ads)
                                .setCdsConfig(ads))
                .setStaticResources(
                        Bootstrap.StaticResources.newBuilder().addClusters(xds).addClusters(sds))
                .setAdmin(
                        Admin.newBuilder()
                                .setAddress(
                                        socket(
                                                adminAddress.getHostString(),
                                                adminAddress.getPort())))
                .build();
    }

    private static final String HTTP_OPTIONS =
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    private static Any http2() {
        return Any.pack(
                HttpProtocolOptions.newBuilder()
                        .setExplicitHttpConfig(
                                HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                                        .setHttp2ProtocolOptions(
                                                Http2ProtocolOptions.getDefaultInstance()))
                        .build());
    }

    /**
     * gRPC to {@code cluster}, every request carrying the node (the control plane reads it on
     * each).
     */
    private static ApiConfigSource grpc(String cluster) {
        return ApiConfigSource.newBuilder()
                .setApiType(ApiConfigSource.ApiType.GRPC)
                .setTransportApiVersion(ApiVersion.V3)
                .addGrpcServices(
                        GrpcService.newBuilder()
                                .setEnvoyGrpc(
                                        GrpcService.EnvoyGrpc.newBuilder().setClusterName(cluster)))
                .build();
    }

    /**
     * The SDS secret {@code name} from the agent, waited for without a time limit (Istio's
     * initial_fetch_timeout 0s).
     */
    private static SdsSecretConfig sds(String name) {
        return SdsSecretConfig.newBuilder()
                .setName(name)
                .setSdsConfig(
                        ConfigSource.newBuilder()
                                .setApiConfigSource(grpc(SDS_CLUSTER))
                                .setResourceApiVersion(ApiVersion.V3)
                                .setInitialFetchTimeout(Duration.getDefaultInstance()))
                .build();
    }

    private static Address socket(String host, int port) {
        return Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
                .build();
    }

    private static ClusterLoadAssignment endpoint(String cluster, Address address) {
        return ClusterLoadAssignment.newBuilder()
                .setClusterName(cluster)
                .addEndpoints(
                        LocalityLbEndpoints.newBuilder()
                                .addLbEndpoints(
                                        LbEndpoint.newBuilder()
                                                .setEndpoint(
                                                        Endpoint.newBuilder().setAddress(address))))
                .build();
    }
}
