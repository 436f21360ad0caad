package io.mithril.bench.gateway;

import io.mithril.bench.ChildJvm;
import io.mithril.mesh.config.ProxyNode;
import io.mithril.mesh.yaml.MeshYaml;
import io.mithril.pki.Pem;
import io.mithril.proxy.Proxy;
import io.mithril.proxy.ProxySettings;
import io.mithril.proxy.identity.Identity;
import io.mithril.proxy.identity.StaticIdentitySource;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The {@code gateway} bench's ingress gateway in a JVM of its own, as an operator runs it, so its
 * memory and CPU can be read from /proc: {@code GatewayMain <dir>} reads {@code server.pem}, {@code
 * server.key}, {@code root.pem} and the mesh YAML {@code gateway.yaml} from {@code dir}, serves
 * listener 8080 on an ephemeral loopback port, prints {@code GATEWAY_READY <port>} and exits when
 * its stdin closes.
 */
public final class GatewayMain {

    static final String READY = "GATEWAY_READY ";
    static final String ID =
            "spiffe://example.org/ns/istio-system/sa/istio-ingressgateway-service-account";

    private GatewayMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: GatewayMain <dir>");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        TrustDomain td = TrustDomain.of("example.org");
        Identity identity =
                new Identity(
                        SpiffeId.parse(ID),
                        Pem.readCertificates(dir.resolve("server.pem")),
                        Pem.readPrivateKey(dir.resolve("server.key")),
                        Map.of(td, Pem.readCertificates(dir.resolve("root.pem"))));
        Proxy gateway =
                Proxy.start(
                        ProxySettings.of(
                                        ProxyNode.gateway(
                                                "istio-system",
                                                Map.of("istio", "ingressgateway"),
                                                "example.org"),
                                        Map.of(8080, new InetSocketAddress("127.0.0.1", 0)),
                                        null)
                                .withAccessLog(false),
                        new StaticIdentitySource(identity));
        gateway.apply(
                MeshYaml.parse("gateway.yaml", Files.readString(dir.resolve("gateway.yaml")))
                        .orThrow());
        ChildJvm.serveUntilStdinCloses(READY + gateway.listenerAddress(8080).getPort());
        gateway.close();
        System.exit(0);
    }
}
