package io.mithril.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives the ISTIO_MUTUAL gateway with {@code ab} (keep-alive and new connections, client
 * certificate) and prints what it measured; fails only if requests fail. Needs apache2-utils. Run
 * with {@code -Psoak}; figures to compare belong to {@code mithril bench}.
 */
@Tag("soak")
class GatewayThroughputSoakTest {

    @Test
    void abThroughTheMtlsGatewayHasNoFailedRequests(@TempDir Path dir) throws Exception {
        TestPki pki = new TestPki("example.org");
        try (TestBackend app = new TestBackend("backend");
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
                             apiVersion: networking.istio.io/v1
                             kind: VirtualService
                             metadata: {name: direct, namespace: default}
                             spec:
                               hosts: [direct.example.org]
                               gateways: [bookinfo-gateway]
                               http: [{directResponse: {status: 200, body: {string: "hello"}}}]
                             """))) {
            TestPki.Files sleep = TestPki.write(pki.identity(MeshFixture.SLEEP_ID), dir, "sleep");
            Path pem = dir.resolve("ab.pem");
            Files.writeString(pem, Files.readString(sleep.cert()) + Files.readString(sleep.key()));
            int port = gw.listenerAddress(8080).getPort();
            for (String[] run :
                    new String[][] {
                        {"keep-alive, backend", "-k", "-n", "20000", "/productpage"},
                        {
                            "keep-alive, direct response",
                            "-k",
                            "-H",
                            "Host: direct.example.org",
                            "-n",
                            "20000",
                            "/"
                        },
                        {"new connections, backend", "", "-n", "2000", "/productpage"}
                    }) {
                List<String> cmd =
                        new java.util.ArrayList<>(
                                List.of("ab", "-q", "-c", "32", "-E", pem.toString()));
                if (!run[1].isEmpty()) {
                    cmd.add(run[1]);
                }
                cmd.addAll(List.of(run).subList(2, run.length - 1));
                cmd.add("https://127.0.0.1:" + port + run[run.length - 1]);
                Processes.Result r = Processes.run(cmd, null);
                System.out.println(
                        "ab "
                                + run[0]
                                + ":\n"
                                + r.out()
                                        .lines()
                                        .filter(
                                                l ->
                                                        l.startsWith("Requests per second")
                                                                || l.startsWith("Failed requests")
                                                                || l.contains("50%")
                                                                || l.contains("99%")
                                                                || l.startsWith("Complete requests")
                                                                || l.startsWith("Non-2xx"))
                                        .reduce("", (a, b) -> a + "  " + b + "\n")
                                + r.err());
                assertThat(r.out()).contains("Failed requests:        0");
            }
        }
    }
}
