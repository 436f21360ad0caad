package io.mithril.bench.sidecar;

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
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

/**
 * One sidecar of the {@code sidecar} bench in a JVM of its own, so its CPU and memory can be read
 * from /proc: {@code server <dir> <appPort>} (inbound 9080 to the app) or {@code client <dir>
 * <serverSidecarPort>} (outbound HTTP proxy 15001, mTLS to the server sidecar). Reads {@code
 * <role>.pem}, {@code <role>.key} and {@code root.pem} from {@code dir} and the mesh YAML from
 * {@code <role>.yaml}; prints {@code SIDECAR_READY <port>} on stdout once listening, and exits when
 * its stdin closes (so it never outlives the bench).
 */
public final class SidecarMain {

    static final String READY = "SIDECAR_READY ";

    private SidecarMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !List.of("client", "server").contains(args[0])) {
            System.err.println("usage: SidecarMain client|server <dir> <port>");
            System.exit(2);
        }
        String role = args[0];
        Path dir = Path.of(args[1]);
        int port = Integer.parseInt(args[2]);
        List<X509Certificate> chain = Pem.readCertificates(dir.resolve(role + ".pem"));
        TrustDomain td = TrustDomain.of("example.org");
        Identity identity =
                new Identity(
                        SpiffeId.parse(SidecarBench.ids(role)),
                        chain,
                        Pem.readPrivateKey(dir.resolve(role + ".key")),
                        Map.of(td, Pem.readCertificates(dir.resolve("root.pem"))));
        Proxy proxy;
        int listener;
        if (role.equals("server")) {
            proxy =
                    Proxy.start(
                            ProxySettings.of(
                                            ProxyNode.sidecar(
                                                    "default",
                                                    Map.of("app", "details"),
                                                    "example.org",
                                                    List.of(
                                                            new ProxyNode.InboundPort(
                                                                    "127.0.0.1",
                                                                    9080,
                                                                    "127.0.0.1",
                                                                    port)),
                                                    "127.0.0.1",
                                                    15001),
                                            Map.of(
                                                    9080,
                                                    new InetSocketAddress("127.0.0.1", 0),
                                                    15001,
                                                    new InetSocketAddress("127.0.0.1", 0)),
                                            new InetSocketAddress("127.0.0.1", 0))
                                    .withAccessLog(false),
                            new StaticIdentitySource(identity));
            listener = 9080;
        } else {
            proxy =
                    Proxy.start(
                            ProxySettings.of(
                                            ProxyNode.sidecar(
                                                    "default",
                                                    Map.of("app", "sleep"),
                                                    "example.org",
                                                    List.of(),
                                                    "127.0.0.1",
                                                    15001),
                                            Map.of(15001, new InetSocketAddress("127.0.0.1", 0)),
                                            new InetSocketAddress("127.0.0.1", 0))
                                    .withAccessLog(false),
                            new StaticIdentitySource(identity));
            listener = 15001;
        }
        proxy.apply(
                MeshYaml.parse(role + ".yaml", Files.readString(dir.resolve(role + ".yaml")))
                        .orThrow());
        ChildJvm.serveUntilStdinCloses(READY + proxy.listenerAddress(listener).getPort());
        proxy.close();
        System.exit(0);
    }
}
