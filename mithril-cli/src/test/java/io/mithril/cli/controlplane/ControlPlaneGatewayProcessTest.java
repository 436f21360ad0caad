package io.mithril.cli.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.mithril.spiffe.id.SpiffeId;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes: {@code mithril controlplane run} and {@code mithril proxy gateway -controlPlane},
 * each with its own SVID from a Workload API, two HTTP backends, and curl through the gateway.
 */
class ControlPlaneGatewayProcessTest {

    static final SpiffeId ISTIOD = ControlPlaneCommandTest.ISTIOD;
    static final SpiffeId GATEWAY = ControlPlaneCommandTest.GATEWAY;

    @TempDir Path dir;

    final TestWorkloadApi.Ca ca = new TestWorkloadApi.Ca("example.org");
    final List<AutoCloseable> toClose = new ArrayList<>();
    final List<Process> processes = new ArrayList<>();
    Path mesh;
    int gatewayPort;
    int controlPlanePort;
    int adminPort;

    @AfterEach
    void stop() throws Exception {
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
        }
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    /** An HTTP backend answering every request with {@code name}. */
    int backend(String name) throws IOException {
        HttpServer s =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        s.createContext(
                "/",
                ex -> {
                    byte[] body = (name + "\n").getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(200, body.length);
                    try (OutputStream out = ex.getResponseBody()) {
                        out.write(body);
                    }
                });
        s.start();
        toClose.add(() -> s.stop(0));
        return s.getAddress().getPort();
    }

    static String service(String name, int port) {
        return """
                apiVersion: networking.istio.io/v1beta1
                kind: ServiceEntry
                metadata: {name: %1$s, namespace: default}
                spec:
                  hosts: [%1$s.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  endpoints:
                  - address: 127.0.0.1
                    ports: {http: %2$d}
                ---
                """
                .formatted(name, port);
    }

    String gateway(String destination) {
        return """
                apiVersion: networking.istio.io/v1beta1
                kind: Gateway
                metadata: {name: web-gateway, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: %d, name: http, protocol: HTTP}
                    hosts: ["*"]
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: VirtualService
                metadata: {name: web, namespace: default}
                spec:
                  hosts: ["*"]
                  gateways: [istio-system/web-gateway]
                  http:
                  - route:
                    - destination:
                        host: %s
                        port: {number: 80}
                """
                .formatted(gatewayPort, destination);
    }

    void write(String file, String text) throws IOException {
        Path tmp = Files.createTempFile(mesh, ".tmp-", ".part");
        Files.writeString(tmp, text);
        Files.move(
                tmp,
                mesh.resolve(file),
                StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    Process mithril(String log, String... args) throws IOException {
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
        ProcessBuilder pb =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(
                                ProcessBuilder.Redirect.appendTo(dir.resolve(log).toFile()));
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    Process startControlPlane(Path conf) throws IOException {
        return mithril("controlplane.log", "controlplane", "run", "-config", conf.toString());
    }

    /** curl through the gateway: the body, or "HTTP nnn"/"curl: ..." when it is not a 200. */
    String curl() throws IOException, InterruptedException {
        Process p =
                new ProcessBuilder(
                                "curl",
                                "-sS",
                                "--max-time",
                                "5",
                                "-w",
                                "\n%{http_code}",
                                "http://127.0.0.1:" + gatewayPort + "/")
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor(10, TimeUnit.SECONDS);
        String[] lines = out.split("\n");
        String code = lines[lines.length - 1];
        return code.equals("200") ? lines[0] : "HTTP " + out.replace('\n', ' ');
    }

    void awaitBody(String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = curl();
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(
                "gateway never answered \""
                        + expected
                        + "\"; last answer: "
                        + last
                        + "\ncontrol plane log:\n"
                        + Files.readString(dir.resolve("controlplane.log"))
                        + "\ngateway log:\n"
                        + Files.readString(dir.resolve("gateway.log")));
    }

    void awaitLog(String file, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        while (System.nanoTime() < deadline) {
            if (Files.exists(dir.resolve(file))
                    && Files.readString(dir.resolve(file)).contains(text)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(
                file + " never said \"" + text + "\":\n" + Files.readString(dir.resolve(file)));
    }

    /**
     * The control plane, a gateway and a sleep sidecar as processes; {@code proxyFlags} added to
     * both proxies.
     */
    record Mesh(Process controlPlane, Path conf, int outbound, SpiffeId sleep) {}

    Mesh startMesh() throws Exception {
        SpiffeId sleep = SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep");
        TestWorkloadApi istiodApi = new TestWorkloadApi(ca, ISTIOD);
        toClose.add(istiodApi);
        TestWorkloadApi gatewayApi = new TestWorkloadApi(ca, GATEWAY);
        toClose.add(gatewayApi);
        TestWorkloadApi sidecarApi = new TestWorkloadApi(ca, sleep);
        toClose.add(sidecarApi);
        int a = backend("backend-a");
        int b = backend("backend-b");
        gatewayPort = ControlPlaneCommandTest.freePort();
        controlPlanePort = ControlPlaneCommandTest.freePort();
        adminPort = ControlPlaneCommandTest.freePort();
        int outbound = ControlPlaneCommandTest.freePort();
        mesh = Files.createDirectories(dir.resolve("mesh"));
        write("services.yaml", service("svc-a", a) + service("svc-b", b));
        write("gateway.yaml", gateway("svc-a.default.svc.cluster.local"));
        write("mesh-routes.yaml", meshRoute("svc-a.default.svc.cluster.local"));
        Path conf = dir.resolve("controlplane.conf");
        Files.writeString(
                conf,
                """
                control_plane {
                  bind_address = "127.0.0.1"
                  bind_port    = %d
                  admin_port   = %d
                  socket_path  = "%s"
                  config_dir   = "mesh"
                  trust_domain = "example.org"
                  spiffe_id    = "%s"
                }
                """
                        .formatted(controlPlanePort, adminPort, istiodApi.address(), ISTIOD));

        Process cp = startControlPlane(conf);
        List<String> gw =
                new ArrayList<>(
                        List.of(
                                "proxy",
                                "gateway",
                                "-socketPath",
                                gatewayApi.address(),
                                "-label",
                                "istio=ingressgateway",
                                "-controlPlane",
                                "127.0.0.1:" + controlPlanePort,
                                "-controlPlaneID",
                                ISTIOD.toString(),
                                "-admin",
                                "127.0.0.1:" + ControlPlaneCommandTest.freePort()));
        mithril("gateway.log", gw.toArray(String[]::new));
        List<String> sc =
                new ArrayList<>(
                        List.of(
                                "proxy",
                                "sidecar",
                                "-socketPath",
                                sidecarApi.address(),
                                "-namespace",
                                "default",
                                "-label",
                                "app=sleep",
                                "-outbound",
                                "127.0.0.1:" + outbound,
                                "-controlPlane",
                                "127.0.0.1:" + controlPlanePort,
                                "-controlPlaneID",
                                ISTIOD.toString(),
                                "-admin",
                                "127.0.0.1:" + ControlPlaneCommandTest.freePort()));
        mithril("sidecar.log", sc.toArray(String[]::new));
        return new Mesh(cp, conf, outbound, sleep);
    }

    @Test
    void virtualServiceChangesRerouteGatewayAndSidecarAndBadChangesOrAnOutageDoNot()
            throws Exception {
        Mesh m = startMesh();
        Process cp = m.controlPlane();
        Path conf = m.conf();
        int outbound = m.outbound();
        SpiffeId sleep = m.sleep();
        awaitBody("backend-a");
        awaitSidecarBody(outbound, "backend-a");
        awaitLog("gateway.log", "xDS: applied clusters");

        // VirtualService changes reroute: the gateway's route, then the mesh route of the sidecar.
        write("gateway.yaml", gateway("svc-b.default.svc.cluster.local"));
        awaitBody("backend-b");
        write("mesh-routes.yaml", meshRoute("svc-b.default.svc.cluster.local"));
        awaitSidecarBody(outbound, "backend-b");
        assertThat(Files.readString(dir.resolve("controlplane.log")))
                .containsPattern("xDS node connected: sidecar~\\S+ as " + sleep)
                .containsPattern("xDS node connected: router~\\S+ as " + GATEWAY);

        // An invalid change is rejected by the control plane; routing stays.
        write("gateway.yaml", gateway("svc a"));
        awaitLog("controlplane.log", "rejected");
        assertThat(curl()).isEqualTo("backend-b");
        ControlPlaneCommandTest.Result status =
                ControlPlaneCommandTest.mithril(
                        "controlplane", "status", "-config", conf.toString());
        assertThat(status.out())
                .contains("REJECTED")
                .contains("svc a")
                .contains(GATEWAY.toString())
                .contains(sleep.toString())
                .contains("sidecar")
                .doesNotContain("STALE")
                .doesNotContain("NACKED");

        // The control plane goes away: traffic keeps flowing on the last configuration.
        cp.destroy();
        assertThat(cp.waitFor(10, TimeUnit.SECONDS)).isTrue();
        awaitLog("gateway.log", "xDS: stream to 127.0.0.1:" + controlPlanePort + " lost");
        assertThat(curl()).isEqualTo("backend-b");
        assertThat(curlViaSidecar(outbound)).isEqualTo("backend-b");

        // Fixed while it was down; the restarted control plane sends the current state over a new
        // stream.
        write("gateway.yaml", gateway("svc-a.default.svc.cluster.local"));
        startControlPlane(conf);
        awaitBody("backend-a");
    }

    static String meshRoute(String destination) {
        return """
                apiVersion: networking.istio.io/v1beta1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - route:
                    - destination:
                        host: %s
                        port: {number: 80}
                """
                .formatted(destination);
    }

    /** curl through the sidecar's outbound HTTP proxy, as an application with http_proxy set. */
    String curlViaSidecar(int outbound) throws IOException, InterruptedException {
        Process p =
                new ProcessBuilder(
                                "curl",
                                "-sS",
                                "--max-time",
                                "5",
                                "-w",
                                "\n%{http_code}",
                                "-x",
                                "http://127.0.0.1:" + outbound,
                                "http://reviews.default.svc.cluster.local/")
                        .redirectErrorStream(true)
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor(10, TimeUnit.SECONDS);
        String[] lines = out.split("\n");
        return lines[lines.length - 1].equals("200") ? lines[0] : "HTTP " + out.replace('\n', ' ');
    }

    void awaitSidecarBody(int outbound, String expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        String last = "";
        while (System.nanoTime() < deadline) {
            last = curlViaSidecar(outbound);
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(
                "sidecar never answered \""
                        + expected
                        + "\"; last answer: "
                        + last
                        + "\nsidecar log:\n"
                        + Files.readString(dir.resolve("sidecar.log")));
    }

    @Test
    void gatewayRefusesAnImpostorControlPlane() throws Exception {
        SpiffeId impostor = SpiffeId.parse("spiffe://example.org/ns/default/sa/impostor");
        TestWorkloadApi impostorApi = new TestWorkloadApi(ca, impostor);
        toClose.add(impostorApi);
        TestWorkloadApi gatewayApi = new TestWorkloadApi(ca, GATEWAY);
        toClose.add(gatewayApi);
        gatewayPort = ControlPlaneCommandTest.freePort();
        controlPlanePort = ControlPlaneCommandTest.freePort();
        adminPort = ControlPlaneCommandTest.freePort();
        mesh = Files.createDirectories(dir.resolve("mesh"));
        write("services.yaml", service("svc-a", backend("backend-a")));
        write("gateway.yaml", gateway("svc-a.default.svc.cluster.local"));
        Path conf = dir.resolve("controlplane.conf");
        Files.writeString(
                conf,
                """
                control_plane {
                  bind_address = "127.0.0.1"
                  bind_port    = %d
                  admin_port   = %d
                  socket_path  = "%s"
                  config_dir   = "mesh"
                  trust_domain = "example.org"
                }
                """
                        .formatted(controlPlanePort, adminPort, impostorApi.address()));
        startControlPlane(conf);
        mithril(
                "gateway.log",
                "proxy",
                "gateway",
                "-socketPath",
                gatewayApi.address(),
                "-label",
                "istio=ingressgateway",
                "-controlPlane",
                "127.0.0.1:" + controlPlanePort,
                "-controlPlaneID",
                ISTIOD.toString(),
                "-admin",
                "127.0.0.1:" + ControlPlaneCommandTest.freePort());

        awaitLog(
                "gateway.log",
                "server SPIFFE ID "
                        + impostor
                        + " is not authorized: expected the SPIFFE ID "
                        + ISTIOD);
        assertThat(curl())
                .isNotEqualTo("backend-a")
                .endsWith("000"); // no configuration, so no listener: curl cannot connect
        assertThat(Files.readString(dir.resolve("controlplane.log")))
                .doesNotContain("proxy connected");
    }
}
