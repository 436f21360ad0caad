package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rotation under load (issue 9, case 1): the demo with X509-SVID TTL 1 minute and CA TTL 4 minutes,
 * steady mTLS traffic from sleep through the ingress gateway to productpage (each request a new
 * curl, so a new handshake), for {@code -Dmithril.soak.minutes} (default 6) minutes: several
 * rotations of every SVID and at least one of each server's intermediate CA, and zero failed
 * requests. Sleep refreshes its SVID files from the Workload API every 15s, as a sidecar-less
 * client must.
 */
@Tag("soak")
class RotationUnderLoadSoakIT {

    @TempDir Path tmp;

    @Test
    void steadyMtlsTrafficThroughTheGatewaySurvivesEveryRotationWithoutAFailedRequest()
            throws Exception {
        Path home = tmp.resolve("home");
        Path examples = home.resolve("examples/two-clusters");
        copyTree(Demo.projectRoot().resolve("examples/two-clusters"), examples);
        for (String c : List.of("cluster1", "cluster2")) {
            Path conf = examples.resolve(c + "/server.conf");
            String text =
                    Files.readString(conf)
                            .replace("ca_ttl = \"24h\"", "ca_ttl = \"4m\"")
                            .replace(
                                    "default_x509_svid_ttl = \"1h\"",
                                    "default_x509_svid_ttl = \"1m\"");
            assertThat(text).contains("ca_ttl = \"4m\"").contains("default_x509_svid_ttl = \"1m\"");
            Files.writeString(conf, text);
        }
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        long minutes = Long.getLong("mithril.soak.minutes", 6);
        try (Demo demo = Demo.start(tmp.resolve("demo"), home)) {
            AtomicReference<Path> svidDir = new AtomicReference<>(demo.sleepDir());
            Set<String> sleepSerials = new LinkedHashSet<>();
            Set<String> gatewaySerials = new LinkedHashSet<>();
            Set<String> gatewayIntermediates = new LinkedHashSet<>();
            // Every sidecar's SVID, read from its admin /certs (productpage, details, reviews
            // v1-v3, ratings).
            java.util.Map<String, Set<String>> sidecarSerials = new java.util.TreeMap<>();
            List<String> failures = new ArrayList<>();
            long ok = 0;
            long deadline = System.nanoTime() + Duration.ofMinutes(minutes).toNanos();
            long nextRefresh = 0;
            int refresh = 0;
            while (System.nanoTime() < deadline) {
                if (System.nanoTime() >= nextRefresh) {
                    // A new directory each time: curl never sees a certificate and a key from two
                    // fetches.
                    // Inside sleep's own 0700 directory; `-write` creates it 0700, owned by sleep.
                    Path d = demo.sleepDir().resolve("refresh-" + refresh++);
                    Demo.Exec f =
                            Demo.exec(
                                    demo.mithril(
                                            Demo.SLEEP_UID,
                                            "agent",
                                            "api",
                                            "fetch",
                                            "x509",
                                            "-socketPath",
                                            demo.agentSocket(1).toString(),
                                            "-write",
                                            d.toString()));
                    assertThat(f.exit()).as("sleep refreshes its SVID: %s", f.out()).isZero();
                    svidDir.set(d);
                    sleepSerials.add(leaf(d.resolve("svid.0.pem")).getSerialNumber().toString(16));
                    List<X509Certificate> gw = gatewayChain(demo, d);
                    if (gw.size() >= 2) {
                        gatewaySerials.add(gw.get(0).getSerialNumber().toString(16));
                        gatewayIntermediates.add(gw.get(1).getSerialNumber().toString(16));
                    }
                    List<String> pods = demo.podNamespaces();
                    for (int i = 1; i <= 6; i++) {
                        // With pods (root), each sidecar's admin port is on its pod's loopback;
                        // without, on 127.0.1.i.
                        String where = pods.isEmpty() ? "127.0.1." + i : pods.get(i - 1);
                        String serial =
                                pods.isEmpty() ? sidecarSerial(where) : sidecarSerialInPod(where);
                        if (serial != null) {
                            sidecarSerials
                                    .computeIfAbsent(where, k -> new LinkedHashSet<>())
                                    .add(serial);
                        }
                    }
                    nextRefresh = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                }
                Path d = svidDir.get();
                Demo.Exec r =
                        Demo.exec(
                                demo.curl(
                                        "/productpage",
                                        d.resolve("svid.0.pem"),
                                        d.resolve("svid.0.key")));
                if (r.out().equals("HTTP_CODE=200")) {
                    ok++;
                } else {
                    failures.add(
                            java.time.Instant.now()
                                    + " curl exit "
                                    + r.exit()
                                    + " "
                                    + r.out().strip());
                }
            }
            System.out.printf(
                    "rotation under load: %d requests OK, %d failed; sleep SVIDs %d, gateway SVIDs %d, "
                            + "gateway intermediates %d, sidecar SVIDs %s, in %d minutes%n",
                    ok,
                    failures.size(),
                    sleepSerials.size(),
                    gatewaySerials.size(),
                    gatewayIntermediates.size(),
                    sidecarSerials.entrySet().stream()
                            .map(e -> e.getKey() + "=" + e.getValue().size())
                            .toList(),
                    minutes);
            assertThat(failures).as("failed requests").isEmpty();
            assertThat(ok).isPositive();
            // The run covered rotations: of sleep's SVID, of the gateway's, and of cluster 2's
            // intermediate.
            assertThat(sleepSerials).hasSizeGreaterThanOrEqualTo((int) minutes);
            assertThat(gatewaySerials).hasSizeGreaterThanOrEqualTo((int) minutes);
            assertThat(gatewayIntermediates).hasSizeGreaterThanOrEqualTo(2);
            assertThat(sidecarSerials)
                    .as("every sidecar's SVID rotated")
                    .hasSize(6)
                    .allSatisfy(
                            (addr, serials) ->
                                    assertThat(serials).hasSizeGreaterThanOrEqualTo((int) minutes));
        }
    }

    /**
     * The serial of the SVID a sidecar serves, from its admin endpoint's /certs, or null when it
     * does not answer.
     */
    private static String sidecarSerial(String address) {
        try {
            java.net.http.HttpResponse<String> r =
                    java.net.http.HttpClient.newHttpClient()
                            .send(
                                    java.net.http.HttpRequest.newBuilder(
                                                    java.net.URI.create(
                                                            "http://" + address + ":15000/certs"))
                                            .timeout(Duration.ofSeconds(5))
                                            .build(),
                                    java.net.http.HttpResponse.BodyHandlers.ofString());
            java.util.regex.Matcher m = SERIAL.matcher(r.body());
            return m.find() ? m.group(1) : null;
        } catch (java.io.IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static final java.util.regex.Pattern SERIAL =
            java.util.regex.Pattern.compile("\"serial\"\\s*:\\s*\"([0-9a-f]+)\"");

    /** As {@link #sidecarSerial}, for a sidecar in the pod (network namespace) {@code netns}. */
    private static String sidecarSerialInPod(String netns) throws Exception {
        Demo.Exec r =
                Demo.exec(
                        List.of(
                                "ip",
                                "netns",
                                "exec",
                                netns,
                                "curl",
                                "-sS",
                                "--max-time",
                                "5",
                                "http://127.0.0.1:15000/certs"));
        java.util.regex.Matcher m = SERIAL.matcher(r.out());
        return m.find() ? m.group(1) : null;
    }

    private static X509Certificate leaf(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            return (X509Certificate)
                    CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    /**
     * The gateway's chain as openssl s_client sees it (with sleep's SVID, since the gateway
     * requires one).
     */
    private static List<X509Certificate> gatewayChain(Demo demo, Path svid) throws Exception {
        List<String> cmd = Demo.as(Demo.SLEEP_UID);
        cmd.addAll(
                List.of(
                        "openssl",
                        "s_client",
                        "-showcerts",
                        "-connect",
                        "127.0.0.1:" + demo.gatewayPort,
                        "-servername",
                        "app.example.org",
                        "-cert",
                        svid.resolve("svid.0.pem").toString(),
                        "-key",
                        svid.resolve("svid.0.key").toString()));
        ProcessBuilder pb =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor();
        String text = new String(out, java.nio.charset.StandardCharsets.US_ASCII);
        List<X509Certificate> chain = new ArrayList<>();
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        int i = 0;
        while ((i = text.indexOf("-----BEGIN CERTIFICATE-----", i)) >= 0) {
            int end =
                    text.indexOf("-----END CERTIFICATE-----", i)
                            + "-----END CERTIFICATE-----".length();
            chain.add(
                    (X509Certificate)
                            cf.generateCertificate(
                                    new java.io.ByteArrayInputStream(
                                            text.substring(i, end)
                                                    .getBytes(
                                                            java.nio.charset.StandardCharsets
                                                                    .US_ASCII))));
            i = end;
        }
        return chain;
    }

    static void copyTree(Path src, Path dst) throws Exception {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path f : (Iterable<Path>) s::iterator) {
                Path t = dst.resolve(src.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(f, t, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }
}
