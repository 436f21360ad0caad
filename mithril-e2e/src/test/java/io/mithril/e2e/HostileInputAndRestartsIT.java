package io.mithril.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9 on the whole system: one {@code mithril demo --keep-running} (packaged distribution, real
 * processes under their own uids), then hostile input on every listener, TLS clients with bad
 * certificates, malformed CLI input, file and socket permissions, kill -9 of an agent and of an
 * identity server, and finally a scan of every log for private key material.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputAndRestartsIT {

    @TempDir static Path tmp;

    private Demo demo;

    @BeforeAll
    void startDemo() throws Exception {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        demo = Demo.start(tmp.resolve("demo"));
    }

    @AfterAll
    void stopDemo() throws Exception {
        if (demo != null) {
            demo.close();
            List<String> leftBehind =
                    ProcessHandle.allProcesses()
                            .filter(
                                    p ->
                                            p.info()
                                                    .arguments()
                                                    .map(
                                                            a ->
                                                                    String.join(" ", a)
                                                                            .contains(
                                                                                    demo.dir
                                                                                            .toString()))
                                                    .orElse(false))
                            .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                            .toList();
            assertThat(leftBehind).as("processes left behind").isEmpty();
        }
    }

    // ---- hostile input ----

    /**
     * A listening socket of the demo; {@code netns} names the pod's network namespace, null on the
     * host.
     */
    record Listener(String address, int pid, String netns) {
        String where() {
            return (netns == null ? "" : netns + "/") + address;
        }
    }

    /**
     * The demo's services: every JVM below the demo process. Short-lived children (the dashboard's
     * {@code ip netns exec ... curl} pollers) come and go on their own and are not services. A
     * process whose executable cannot be read (another user's, when not run as root) counts.
     */
    private Set<Long> demoPids() {
        Set<Long> pids = new HashSet<>();
        demo.process
                .descendants()
                .filter(
                        h ->
                                h.info()
                                        .command()
                                        .map(
                                                c ->
                                                        Path.of(c)
                                                                .getFileName()
                                                                .toString()
                                                                .equals("java"))
                                        .orElse(true))
                .forEach(h -> pids.add(h.pid()));
        return pids;
    }

    private static final Pattern PID = Pattern.compile("pid=(\\d+)");

    /**
     * Listening TCP ports (on the host, in the clusters' namespaces and in the pods) and Unix
     * sockets of the demo's processes, from ss(8).
     */
    private List<Listener> listeners(boolean unix) throws Exception {
        // ss lists the sockets of its own network namespace only, Unix ones included: the clusters'
        // servers and agents listen inside theirs.
        List<Listener> found = listeners(unix, null);
        for (String ns : demo.namespaces()) {
            found.addAll(listeners(unix, ns));
        }
        return found;
    }

    private List<Listener> listeners(boolean unix, String netns) throws Exception {
        Set<Long> pids = demoPids();
        List<String> cmd =
                new ArrayList<>(netns == null ? List.of() : List.of("ip", "netns", "exec", netns));
        cmd.addAll(List.of("ss", "-H", "-l", unix ? "-x" : "-t", "-n", "-p"));
        Demo.Exec ss = Demo.exec(cmd);
        List<Listener> found = new ArrayList<>();
        for (String line : ss.out().split("\n")) {
            Matcher m = PID.matcher(line);
            if (!m.find() || !pids.contains(Long.parseLong(m.group(1)))) {
                continue;
            }
            String[] f = line.trim().split("\\s+");
            String addr = unix ? f[4] : f[3];
            if (unix && !addr.startsWith(demo.dir.toString())) {
                continue;
            }
            found.add(new Listener(addr, Integer.parseInt(m.group(1)), netns));
        }
        return found;
    }

    /**
     * Bounded random garbage, sometimes behind a plausible TLS, HTTP/2 or HTTP/1 prefix so parsers
     * get further in.
     */
    private static byte[] garbage(Random r) {
        byte[] body = new byte[1 + r.nextInt(8192)];
        r.nextBytes(body);
        byte[][] prefixes = {
            {},
            {0x16, 0x03, 0x01, (byte) r.nextInt(256), (byte) r.nextInt(256), 0x01},
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n"
                    .getBytes(StandardCharsets.US_ASCII),
        };
        byte[] prefix = prefixes[r.nextInt(prefixes.length)];
        byte[] all = new byte[prefix.length + body.length];
        System.arraycopy(prefix, 0, all, 0, prefix.length);
        System.arraycopy(body, 0, all, prefix.length, body.length);
        return all;
    }

    private static final int CONNECTIONS_PER_LISTENER = 6;

    private static void hitTcp(Listener l, byte[] bytes) throws Exception {
        if (l.netns() == null) {
            hitTcp(l.address(), bytes);
            return;
        }
        // Inside the pod (its loopback is not reachable from here): bash's /dev/tcp, the bytes on
        // stdin,
        // then whatever comes back is drained until the peer closes or 1.5 s pass.
        int colon = l.address().lastIndexOf(':');
        String host =
                l.address()
                        .substring(0, colon)
                        .replace("[::ffff:", "")
                        .replace("]", "")
                        .replace("*", "127.0.0.1")
                        .replace("0.0.0.0", "127.0.0.1");
        String port = l.address().substring(colon + 1);
        Process p =
                new ProcessBuilder(
                                "ip",
                                "netns",
                                "exec",
                                l.netns(),
                                "bash",
                                "-c",
                                "exec 3<>/dev/tcp/"
                                        + host
                                        + "/"
                                        + port
                                        + " || exit 0; cat >&3; timeout 1.5 cat <&3 >/dev/null; exit 0")
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(bytes);
        } catch (java.io.IOException closed) {
            // the peer closed before taking every byte
        }
        if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    private static void hitTcp(String address, byte[] bytes) {
        int colon = address.lastIndexOf(':');
        String host =
                address.substring(0, colon)
                        .replace("[::ffff:", "")
                        .replace("]", "")
                        .replace("*", "127.0.0.1");
        if (host.equals("0.0.0.0") || host.equals("[::]") || host.isEmpty()) {
            host = "127.0.0.1";
        }
        int port = Integer.parseInt(address.substring(colon + 1));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 3000);
            s.setSoTimeout(1500);
            OutputStream out = s.getOutputStream();
            out.write(bytes);
            out.flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            while (in.read(buf) >= 0) {
                // drain until the peer closes or the timeout
            }
        } catch (java.io.IOException expected) {
            // reset, timeout, closed: all fine; what matters is that the process keeps serving
        }
    }

    private static void hitUnix(String path, byte[] bytes) {
        try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            ch.write(ByteBuffer.wrap(bytes));
            ch.shutdownOutput();
            ch.configureBlocking(false);
            ByteBuffer buf = ByteBuffer.allocate(4096);
            long until = System.nanoTime() + Duration.ofMillis(800).toNanos();
            while (System.nanoTime() < until) {
                buf.clear();
                if (ch.read(buf) < 0) {
                    break;
                }
                Thread.sleep(50);
            }
        } catch (java.io.IOException expected) {
            // as for TCP
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    @Order(1)
    void garbageBytesOnEveryTcpAndUnixListenerLeaveEveryProcessServing() throws Exception {
        List<Listener> tcp = listeners(false);
        List<Listener> unix = listeners(true);
        // 2 agent APIs, gateway, control plane, its admin port, 6 apps + sidecars (inbound,
        // outbound, admin)...
        assertThat(tcp).as("TCP listeners of the demo").hasSizeGreaterThanOrEqualTo(15);
        // 2 admin sockets and 2 Workload API sockets.
        assertThat(unix).as("Unix listeners of the demo").hasSizeGreaterThanOrEqualTo(4);
        Set<Long> before = demoPids();
        assertThat(before).as("the demo's service processes").hasSizeGreaterThanOrEqualTo(15);
        // All listeners at once (each gets its connections one after another): the servers see
        // concurrent garbage and the case stays short.
        List<java.util.concurrent.Callable<Integer>> jobs = new ArrayList<>();
        List<Listener> all = new ArrayList<>(tcp);
        all.addAll(unix);
        for (int i = 0; i < all.size(); i++) {
            Listener l = all.get(i);
            boolean isTcp = i < tcp.size();
            Random r = new Random(9 + i);
            jobs.add(
                    () -> {
                        for (int c = 0; c < CONNECTIONS_PER_LISTENER; c++) {
                            if (isTcp) {
                                hitTcp(l, garbage(r));
                            } else {
                                hitUnix(l.address(), garbage(r));
                            }
                        }
                        return CONNECTIONS_PER_LISTENER;
                    });
        }
        java.util.concurrent.ExecutorService pool =
                java.util.concurrent.Executors.newFixedThreadPool(16);
        int sent = 0;
        try {
            for (java.util.concurrent.Future<Integer> f : pool.invokeAll(jobs)) {
                sent += f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        System.out.printf(
                "garbage: %d connections to %d TCP (%d inside pods) and %d Unix listeners%n",
                sent, tcp.size(), tcp.stream().filter(l -> l.netns() != null).count(), unix.size());
        assertThat(demoPids()).as("every demo process is still alive").containsAll(before);
        // Still listening, on the same addresses, and still serving.
        assertThat(listeners(false))
                .map(Listener::where)
                .containsAll(tcp.stream().map(Listener::where).toList());
        assertThat(listeners(true))
                .map(Listener::where)
                .containsAll(unix.stream().map(Listener::where).toList());
        for (int c : new int[] {1, 2}) {
            assertThat(
                            Demo.exec(
                                            demo.mithril(
                                                    null,
                                                    "server",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    demo.adminSocket(c).toString()))
                                    .exit())
                    .as("cluster %d server healthcheck", c)
                    .isZero();
            assertThat(
                            Demo.exec(
                                            demo.mithril(
                                                    null,
                                                    "agent",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    demo.agentSocket(c).toString()))
                                    .exit())
                    .as("cluster %d agent healthcheck", c)
                    .isZero();
        }
        assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                .isEqualTo("HTTP_CODE=200");
    }

    // ---- TLS clients with bad certificates ----

    private static final String SLEEP_ID = "spiffe://example.org/ns/default/sa/sleep";

    private X509Certificate upstreamRoot() throws Exception {
        try (InputStream in =
                Files.newInputStream(demo.dir.resolve("upstream-ca/upstream-ca.pem"))) {
            return (X509Certificate)
                    CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    private PrivateKey upstreamKey() throws Exception {
        try (PEMParser p =
                new PEMParser(
                        Files.newBufferedReader(
                                demo.dir.resolve("upstream-ca/upstream-ca.key.pem")))) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            return o instanceof PEMKeyPair kp
                    ? conv.getKeyPair(kp).getPrivate()
                    : conv.getPrivateKey((PrivateKeyInfo) o);
        }
    }

    private static KeyPair ecKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static long serial = System.nanoTime();

    /**
     * A leaf with the given URI SANs, signed by issuer (or self-signed as a CA when issuer is
     * null).
     */
    private static X509Certificate cert(
            KeyPair subject,
            String cn,
            X509Certificate issuer,
            PrivateKey issuerKey,
            Instant notBefore,
            Instant notAfter,
            String... uris)
            throws Exception {
        X500Name issuerName =
                issuer == null
                        ? new X500Name("CN=" + cn)
                        : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
        X509v3CertificateBuilder b =
                new JcaX509v3CertificateBuilder(
                        issuerName,
                        BigInteger.valueOf(serial++),
                        Date.from(notBefore),
                        Date.from(notAfter),
                        new X500Name("CN=" + cn),
                        subject.getPublic());
        if (issuer == null) {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(
                    Extension.extendedKeyUsage,
                    false,
                    new ExtendedKeyUsage(
                            new KeyPurposeId[] {
                                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                            }));
        }
        if (uris.length > 0) {
            GeneralName[] names = new GeneralName[uris.length];
            for (int i = 0; i < uris.length; i++) {
                names[i] = new GeneralName(GeneralName.uniformResourceIdentifier, uris[i]);
            }
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
        }
        PrivateKey signer = issuer == null ? subject.getPrivate() : issuerKey;
        return new JcaX509CertificateConverter()
                .getCertificate(
                        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    }

    /** Writes cert.pem and key.pem (0600, owned by sleep when root) into dir/name. */
    private Path[] write(String name, KeyPair key, X509Certificate... chain) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("certs/" + name));
        Path c = d.resolve("cert.pem");
        Path k = d.resolve("key.pem");
        try (JcaPEMWriter w = new JcaPEMWriter(Files.newBufferedWriter(c))) {
            for (X509Certificate x : chain) {
                w.writeObject(x);
            }
        }
        try (JcaPEMWriter w = new JcaPEMWriter(Files.newBufferedWriter(k))) {
            w.writeObject(
                    new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key.getPrivate(), null));
        }
        Files.setPosixFilePermissions(k, PosixFilePermissions.fromString("rw-------"));
        Files.setPosixFilePermissions(
                tmp.resolve("certs"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (Demo.isRoot()) {
            for (Path f : List.of(c, k)) {
                Files.setAttribute(f, "unix:uid", Demo.SLEEP_UID);
            }
        }
        return new Path[] {c, k};
    }

    /**
     * Certificates that differ from a good one by exactly one defect, all for the given SPIFFE ID.
     */
    private Map<String, Path[]> badClients(String id) throws Exception {
        X509Certificate root = upstreamRoot();
        PrivateKey rootKey = upstreamKey();
        Instant now = Instant.now();
        Map<String, Path[]> m = new LinkedHashMap<>();
        KeyPair k1 = ecKey();
        m.put(
                "good (control)",
                write(
                        "good-" + id.hashCode(),
                        k1,
                        cert(
                                k1,
                                "good",
                                root,
                                rootKey,
                                now.minusSeconds(60),
                                now.plusSeconds(3600),
                                id)));
        KeyPair k2 = ecKey();
        m.put(
                "expired",
                write(
                        "expired-" + id.hashCode(),
                        k2,
                        cert(
                                k2,
                                "expired",
                                root,
                                rootKey,
                                now.minusSeconds(7200),
                                now.minusSeconds(3600),
                                id)));
        KeyPair fk = ecKey();
        X509Certificate foreignRoot =
                cert(
                        fk,
                        "Foreign Root",
                        null,
                        null,
                        now.minusSeconds(60),
                        now.plusSeconds(3600),
                        "spiffe://domain.test");
        KeyPair k3 = ecKey();
        m.put(
                "another trust domain's root",
                write(
                        "foreign-" + id.hashCode(),
                        k3,
                        cert(
                                k3,
                                "foreign",
                                foreignRoot,
                                fk.getPrivate(),
                                now.minusSeconds(60),
                                now.plusSeconds(3600),
                                id)));
        KeyPair k4 = ecKey();
        m.put(
                "two URI SANs",
                write(
                        "twosans-" + id.hashCode(),
                        k4,
                        cert(
                                k4,
                                "twosans",
                                root,
                                rootKey,
                                now.minusSeconds(60),
                                now.plusSeconds(3600),
                                id,
                                "spiffe://example.org/ns/default/sa/other")));
        return m;
    }

    @Test
    @Order(2)
    void gatewayIstioMutualRefusesNoCertExpiredForeignRootAndTwoUriSans() throws Exception {
        Map<String, Path[]> clients = badClients(SLEEP_ID);
        Demo.Exec none = Demo.exec(demo.curl("/productpage", null, null));
        assertThat(none.exit()).as("no certificate: %s", none.out()).isIn(35, 55, 56);
        int refused = 1;
        List<String> alerts = new ArrayList<>();
        for (Map.Entry<String, Path[]> c : clients.entrySet()) {
            Demo.Exec r = Demo.exec(demo.curl("/productpage", c.getValue()[0], c.getValue()[1]));
            if (c.getKey().startsWith("good")) {
                assertThat(r.out())
                        .as("the control certificate differs only by the defects")
                        .isEqualTo("HTTP_CODE=200");
            } else {
                assertThat(r.exit()).as("%s: %s", c.getKey(), r.out()).isIn(35, 55, 56);
                refused++;
                // Over TLS 1.2 the refusal arrives inside the handshake, with the alert that names
                // the defect.
                List<String> tls12 =
                        new ArrayList<>(
                                demo.curl("/productpage", c.getValue()[0], c.getValue()[1]));
                tls12.addAll(tls12.indexOf("curl") + 1, List.of("-v", "--tls-max", "1.2"));
                String out = Demo.exec(tls12).out();
                String expected =
                        switch (c.getKey()) {
                            case "expired" -> "certificate expired";
                            case "another trust domain's root" -> "unknown CA";
                            default -> "bad certificate";
                        };
                assertThat(out)
                        .as("%s over TLS 1.2", c.getKey())
                        .contains("(IN), TLS alert, " + expected);
                alerts.add(c.getKey() + ": " + expected);
            }
        }
        System.out.printf(
                "gateway: %d bad clients refused in the handshake (alerts %s), control accepted%n",
                refused, alerts);
    }

    /** curl through the gateway as sleep, with {@code extra} options placed before the URL. */
    private String viaGateway(String path, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(demo.curlWithSleepSvid(path));
        cmd.addAll(cmd.indexOf("curl") + 1, List.of(extra));
        return Demo.exec(cmd).out();
    }

    @Test
    @Order(2)
    void gatewayRefusesPathTricksAndMalformedRequestsAndRoutesTheOneNormalizedPath()
            throws Exception {
        Map<String, String> got = new LinkedHashMap<>();
        for (String target :
                List.of(
                        "/productpage#x",
                        "/productpage;x=1",
                        "/productpage%00",
                        "/product%70age%2")) {
            got.put(target, viaGateway("/", "--request-target", target));
        }
        // Over HTTP/2 the codec already resets a stream whose :path holds a control byte; over
        // HTTP/1.1 it is a 400.
        got.put(
                "control byte",
                viaGateway("/", "--http1.1", "--request-target", "/productpage\u0001"));
        got.put("no Host", viaGateway("/productpage", "--http1.1", "-H", "Host:"));
        got.put("lower-case method", viaGateway("/productpage", "--http1.1", "-X", "get"));
        assertThat(got).allSatisfy((k, v) -> assertThat(v).as(k).isEqualTo("HTTP_CODE=400"));
        // Normalized once, then routed: these reach the product page, /static/.. does not stay in
        // /static.
        for (String target :
                List.of(
                        "//productpage",
                        "/static/../productpage",
                        "/a/./../product%70age",
                        "/static/..%2Fproductpage")) {
            assertThat(viaGateway("/", "--request-target", target))
                    .as(target)
                    .isEqualTo("HTTP_CODE=200");
        }
        System.out.printf(
                "gateway: %d malformed requests and path tricks refused with 400, 4 normalized paths routed%n",
                got.size());
    }

    @Test
    @Order(2)
    void gatewayClosesAClientThatNeverFinishesItsHeaders() throws Exception {
        // openssl sends -cert's first certificate only; the intermediates go in -cert_chain.
        String chain = Files.readString(demo.sleepDir().resolve("svid.0.pem"));
        Path intermediates = tmp.resolve("sleep-intermediates.pem");
        Files.writeString(
                intermediates,
                chain.substring(chain.indexOf("-----END CERTIFICATE-----") + 25).strip() + "\n");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "openssl",
                                "s_client",
                                "-quiet",
                                "-connect",
                                "127.0.0.1:" + demo.gatewayPort,
                                "-cert",
                                demo.sleepDir().resolve("svid.0.pem").toString(),
                                "-cert_chain",
                                intermediates.toString(),
                                "-key",
                                demo.sleepDir().resolve("svid.0.key").toString(),
                                "-CAfile",
                                demo.sleepDir().resolve("bundle.0.pem").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        long t0 = System.nanoTime();
        p.getOutputStream()
                .write(
                        "GET /productpage HTTP/1.1\r\nHost: app.example.org\r\nX-Slow: "
                                .getBytes(StandardCharsets.US_ASCII));
        p.getOutputStream().flush();
        boolean closed = p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        long seconds = (System.nanoTime() - t0) / 1_000_000_000L;
        if (!closed) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(closed).as("the gateway closed the connection within 30 s").isTrue();
        assertThat(out).contains("HTTP/1.1 408");
        System.out.printf(
                "gateway: a client holding partial headers was answered 408 and closed after %d s%n",
                seconds);
    }

    /**
     * A gRPC call with curl over TLS 1.2 (h2) to cluster 2's agent API; returns the grpc-status, or
     * the curl failure with the TLS alert the server sent (TLS 1.2 so that the alert arrives inside
     * the handshake).
     */
    private String agentApiCall(Path cert, Path key) throws Exception {
        Path body = tmp.resolve("grpc-empty.bin");
        Files.write(body, new byte[5]); // an empty message: no compression, length 0
        Path headers = tmp.resolve("grpc-headers-" + System.nanoTime() + ".txt");
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "curl",
                                "-sS",
                                "-v",
                                "--tls-max",
                                "1.2",
                                "--http2",
                                "-k",
                                "--max-time",
                                "20",
                                "-o",
                                "/dev/null",
                                "-D",
                                headers.toString(),
                                "-H",
                                "content-type: application/grpc",
                                "-H",
                                "te: trailers",
                                "--data-binary",
                                "@" + body));
        if (cert != null) {
            cmd.addAll(List.of("--cert", cert.toString(), "--key", key.toString()));
        }
        cmd.add(
                "https://"
                        + demo.hostPort("cluster2.server")
                        + "/mithril.agent.v1.AgentService/FetchBundles");
        Demo.Exec r = Demo.exec(cmd);
        if (r.exit() != 0) {
            // curl -v traces "* TLSv1.2 (IN), TLS alert, unknown CA (560):"
            Matcher alert = Pattern.compile("\\(IN\\), TLS alert, ([^(\\n]+)").matcher(r.out());
            String last = r.out().strip().substring(r.out().strip().lastIndexOf('\n') + 1);
            return "curl exit "
                    + r.exit()
                    + (alert.find() ? ", alert " + alert.group(1).strip() : "")
                    + ": "
                    + last;
        }
        Matcher m =
                Pattern.compile("(?im)^grpc-status:\\s*(\\d+)").matcher(Files.readString(headers));
        return m.find()
                ? "grpc-status " + m.group(1)
                : "no grpc-status in " + Files.readString(headers);
    }

    @Test
    @Order(3)
    void agentApiRefusesNoCertExpiredForeignRootAndTwoUriSans() throws Exception {
        Path data = demo.dir.resolve("cluster2/agent/data");
        List<X509Certificate> agentChain = new ArrayList<>(); // leaf + the server's intermediate
        try (InputStream in = Files.newInputStream(data.resolve("agent_svid.der"))) {
            CertificateFactory.getInstance("X.509")
                    .generateCertificates(in)
                    .forEach(c -> agentChain.add((X509Certificate) c));
        }
        X509Certificate agentSvid = agentChain.get(0);
        String agentId =
                agentSvid.getSubjectAlternativeNames().stream()
                        .filter(n -> (Integer) n.get(0) == 6)
                        .map(n -> (String) n.get(1))
                        .findFirst()
                        .orElseThrow();
        // Control: the agent's own SVID and key, as the agent presents them.
        Path svidPem = tmp.resolve("agent-svid.pem");
        Path keyPem = tmp.resolve("agent-svid.key.pem");
        try (JcaPEMWriter w = new JcaPEMWriter(Files.newBufferedWriter(svidPem))) {
            for (X509Certificate c : agentChain) {
                w.writeObject(c);
            }
        }
        Files.copy(data.resolve("agent_svid.key"), keyPem); // PKCS#8 PEM
        Files.setPosixFilePermissions(keyPem, PosixFilePermissions.fromString("rw-------"));
        assertThat(agentApiCall(svidPem, keyPem))
                .as("the agent's own SVID")
                .isEqualTo("grpc-status 0");
        Map<String, String> results = new LinkedHashMap<>();
        results.put("no certificate", agentApiCall(null, null));
        for (Map.Entry<String, Path[]> c : badClients(agentId).entrySet()) {
            if (!c.getKey().startsWith("good")) {
                results.put(c.getKey(), agentApiCall(c.getValue()[0], c.getValue()[1]));
            }
        }
        System.out.println("agent API: " + results);
        assertThat(results.values())
                .as("every bad client is refused: %s", results)
                .allSatisfy(
                        v ->
                                assertThat(v)
                                        .isNotEqualTo("grpc-status 0")
                                        .doesNotStartWith("no grpc-status"));
        // The alert names the defect (not internal_error).
        assertThat(results.get("expired")).containsIgnoringCase("alert certificate expired");
        assertThat(results.get("another trust domain's root"))
                .containsIgnoringCase("alert unknown CA");
        assertThat(results.get("two URI SANs")).containsIgnoringCase("alert bad certificate");
        Files.delete(keyPem);
    }

    // ---- CLI input ----

    private long entryCount(int cluster) throws Exception {
        Demo.Exec r =
                Demo.exec(
                        demo.mithril(
                                null,
                                "server",
                                "entry",
                                "count",
                                "-socketPath",
                                demo.adminSocket(cluster).toString(),
                                "-output",
                                "json"));
        assertThat(r.exit()).as(r.out()).isZero();
        Matcher m = Pattern.compile("\"count\":(\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    @Order(4)
    void malformedAndOversizedEntriesAreRefusedWithAnErrorAndStoreNothing() throws Exception {
        String parent = "spiffe://example.org/cluster2/node";
        String goodId = "spiffe://example.org/ns/default/sa/hostile";
        String goodSel = "unix:uid:20299";
        List<String[]> cases = new ArrayList<>();
        for (String id :
                List.of(
                        "",
                        "not-a-uri",
                        "http://example.org/x",
                        "spiffe://example.org/a//b",
                        "spiffe://example.org/a/../b",
                        "spiffe://example.org/x/",
                        "spiffe://example.org/x?q=1",
                        "spiffe://example.org/x#f",
                        "spiffe://example.org/%41",
                        "spiffe://user@example.org/x",
                        "spiffe://example.org:8080/x",
                        "spiffe://example.org",
                        "spiffe://example.org/" + "a".repeat(3000),
                        "spiffe://" + "a".repeat(300) + "/x",
                        "spiffe://example.org/x y",
                        "spiffe://example.org/caf\u00e9",
                        "spiffe://ex\u212aample.org/x",
                        "spiffe://EXAMPLE.org/x",
                        "SPIFFE://example.org/x")) {
            cases.add(new String[] {id, parent, goodSel});
        }
        for (String sel :
                List.of(
                        "unix",
                        "unix:",
                        ":uid:1",
                        "uid1000",
                        "",
                        "unix:uid:" + "1".repeat(70_000))) {
            cases.add(new String[] {goodId, parent, sel});
        }
        cases.add(new String[] {goodId, "not-a-parent", goodSel});
        cases.add(new String[] {goodId, "spiffe://example.org/" + "p".repeat(3000), goodSel});
        long before = entryCount(2);
        List<String> accepted = new ArrayList<>();
        for (String[] c : cases) {
            Demo.Exec r =
                    Demo.exec(
                            demo.mithril(
                                    null,
                                    "server",
                                    "entry",
                                    "create",
                                    "-socketPath",
                                    demo.adminSocket(2).toString(),
                                    "-spiffeID",
                                    c[0],
                                    "-parentID",
                                    c[1],
                                    "-selector",
                                    c[2]));
            String shown =
                    Stream.of(c)
                            .map(
                                    s ->
                                            s.length() > 60
                                                    ? s.substring(0, 40)
                                                            + "...("
                                                            + s.length()
                                                            + " chars)"
                                                    : s)
                            .toList()
                            .toString();
            if (r.exit() == 0) {
                accepted.add(shown + " -> " + r.out().strip());
                continue;
            }
            assertThat(r.out())
                    .as("case %s", shown)
                    .contains("Error:")
                    .doesNotContain("\tat ")
                    .doesNotContain("Exception in thread");
        }
        System.out.printf(
                "CLI: %d malformed entries tried, %d accepted%n", cases.size(), accepted.size());
        assertThat(accepted).as("malformed entries that were accepted").isEmpty();
        assertThat(entryCount(2)).as("entry count unchanged").isEqualTo(before);
    }

    // ---- permissions ----

    private static boolean groupOrOtherCanRead(Path f) throws Exception {
        Set<PosixFilePermission> p = Files.getPosixFilePermissions(f);
        return p.contains(PosixFilePermission.GROUP_READ)
                || p.contains(PosixFilePermission.OTHERS_READ)
                || p.contains(PosixFilePermission.GROUP_WRITE)
                || p.contains(PosixFilePermission.OTHERS_WRITE);
    }

    /**
     * Every file of the run that holds a private key: PEM "PRIVATE KEY" files, the server's
     * keys.json, the agent's key.
     */
    private List<Path> keyFiles() throws Exception {
        List<Path> keys = new ArrayList<>();
        try (Stream<Path> s = Files.walk(demo.dir)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String rel = demo.dir.relativize(f).toString();
                if (rel.startsWith("dist/") || rel.startsWith("logs/") || rel.endsWith(".jar")) {
                    continue;
                }
                String name = f.getFileName().toString();
                if (name.equals("keys.json")
                        || name.endsWith(".key")
                        || name.contains("key.pem")
                        || (Files.size(f) < 1_000_000
                                && Files.readString(f, StandardCharsets.ISO_8859_1)
                                        .contains("PRIVATE KEY"))) {
                    keys.add(f);
                }
            }
        }
        return keys;
    }

    @Test
    @Order(5)
    void keyFilesAre0600() throws Exception {
        List<Path> keys = keyFiles();
        List<String> names = keys.stream().map(k -> demo.dir.relativize(k).toString()).toList();
        System.out.println("key files: " + names);
        assertThat(names)
                .as("the key files of the run")
                .contains(
                        "cluster1/server/data/keys.json", "cluster2/server/data/keys.json",
                        "cluster1/agent/data/agent_svid.key", "cluster2/agent/data/agent_svid.key",
                        "cluster1/sleep/svid.0.key", "upstream-ca/upstream-ca.key.pem");
        List<String> open = new ArrayList<>();
        for (Path k : keys) {
            if (groupOrOtherCanRead(k)) {
                open.add(
                        demo.dir.relativize(k)
                                + " "
                                + PosixFilePermissions.toString(Files.getPosixFilePermissions(k)));
            }
        }
        assertThat(open).as("key files readable or writable by group/others").isEmpty();
    }

    @Test
    @Order(6)
    void adminSocketIsReachableByItsOwnerOnly() throws Exception {
        assumeTrue(Demo.isRoot(), "needs root to try another uid");
        for (int c : new int[] {1, 2}) {
            String sock = demo.adminSocket(c).toString();
            List<String> curl =
                    List.of(
                            "curl",
                            "-sS",
                            "--max-time",
                            "5",
                            "--unix-socket",
                            sock,
                            "http://localhost/");
            Demo.Exec owner = Demo.exec(curl);
            assertThat(owner.exit())
                    .as("the owner connects (exit 7 = could not connect): %s", owner.out())
                    .isNotEqualTo(7);
            List<String> other = Demo.as(20999);
            other.addAll(curl);
            Demo.Exec stranger = Demo.exec(other);
            assertThat(stranger.exit())
                    .as("another uid cannot connect: %s", stranger.out())
                    .isEqualTo(7);
            // And its healthcheck through the real CLI fails the same way.
            Demo.Exec hc =
                    Demo.exec(demo.mithril(20999, "server", "healthcheck", "-socketPath", sock));
            assertThat(hc.exit()).as(hc.out()).isNotZero();
        }
    }

    // ---- restarts ----

    private List<String> agentIds(int cluster) throws Exception {
        Demo.Exec r =
                Demo.exec(
                        demo.mithril(
                                null,
                                "server",
                                "agent",
                                "list",
                                "-socketPath",
                                demo.adminSocket(cluster).toString()));
        assertThat(r.exit()).as(r.out()).isZero();
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("spiffe://\\S+/spire/agent/\\S+").matcher(r.out());
        while (m.find()) {
            ids.add(m.group());
        }
        return ids;
    }

    @Test
    @Order(7)
    void agentKilledWithSigkillRestartsOnItsSvidWithoutAJoinTokenAndServesWorkloadsAgain()
            throws Exception {
        List<String> agentsBefore = agentIds(1);
        assertThat(agentsBefore).hasSize(1);
        byte[] svidBefore =
                Files.readAllBytes(demo.dir.resolve("cluster1/agent/data/agent_svid.der"));
        ProcessHandle agent = demo.child("agent", "run", "cluster1/agent-with-token.conf");
        agent.destroyForcibly(); // SIGKILL: no shutdown hook, the socket file stays behind
        agent.onExit().get();
        assertThat(demo.agentSocket(1)).as("stale socket file left by kill -9").exists();
        Process restarted =
                demo.background(
                        "cluster1-agent-restarted",
                        demo.inCluster(
                                1,
                                demo.mithril(
                                        null,
                                        "agent",
                                        "run",
                                        "-config",
                                        demo.dir.resolve("config/cluster1/agent.conf").toString(),
                                        "-expandEnv")));
        Demo.await(
                "the restarted agent's healthcheck",
                Duration.ofSeconds(60),
                () -> {
                    assertThat(restarted.isAlive())
                            .as(
                                    "restarted agent alive; log: %s",
                                    Files.readString(
                                            demo.dir.resolve("logs/cluster1-agent-restarted.log")))
                            .isTrue();
                    return Demo.exec(
                                            demo.mithril(
                                                    null,
                                                    "agent",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    demo.agentSocket(1).toString()))
                                    .exit()
                            == 0;
                });
        assertThat(Files.readString(demo.dir.resolve("logs/cluster1-agent-restarted.log")))
                .contains("Reusing agent SVID");
        Demo.Exec[] fetch = new Demo.Exec[1];
        Demo.await(
                "sleep's SVID from the restarted agent",
                Duration.ofSeconds(60),
                () -> {
                    fetch[0] =
                            Demo.exec(
                                    demo.mithril(
                                            Demo.SLEEP_UID,
                                            "agent",
                                            "api",
                                            "fetch",
                                            "x509",
                                            "-socketPath",
                                            demo.agentSocket(1).toString()));
                    return fetch[0].exit() == 0;
                });
        assertThat(fetch[0].out()).contains("SPIFFE ID:").contains(SLEEP_ID);
        assertThat(agentIds(1)).as("no new attestation").isEqualTo(agentsBefore);
        assertThat(Files.readAllBytes(demo.dir.resolve("cluster1/agent/data/agent_svid.der")))
                .as("the agent SVID on disk (renewal would only happen at half life)")
                .isEqualTo(svidBefore);
    }

    /**
     * sleep calls /productpage through the gateway (and the sidecars behind it) for {@code length}:
     * every call must get 200.
     */
    private void requestsKeepSucceedingFor(Duration length, String during) throws Exception {
        int ok = 0;
        List<String> failures = new ArrayList<>();
        long until = System.nanoTime() + length.toNanos();
        while (System.nanoTime() < until) {
            Demo.Exec r = Demo.exec(demo.curlWithSleepSvid("/productpage"));
            if (r.out().equals("HTTP_CODE=200")) {
                ok++;
            } else {
                failures.add(r.exit() + " " + r.out());
            }
        }
        System.out.printf(
                "%s: %d requests OK, %d failed %s%n", during, ok, failures.size(), failures);
        assertThat(failures)
                .as("requests through the gateway and sidecars during the %s", during)
                .isEmpty();
        assertThat(ok).isPositive();
    }

    @Test
    @Order(8)
    void serverKilledWithSigkillTrafficKeepsFlowingAndEverythingRecoversAfterRestart()
            throws Exception {
        ProcessHandle server = demo.child("server", "run", "cluster2/server.conf");
        server.destroyForcibly();
        server.onExit().get();
        requestsKeepSucceedingFor(Duration.ofSeconds(15), "server outage");

        Process restarted =
                demo.background(
                        "cluster2-server-restarted",
                        demo.inCluster(
                                2,
                                demo.mithril(
                                        null,
                                        "server",
                                        "run",
                                        "-config",
                                        demo.dir.resolve("config/cluster2/server.conf").toString(),
                                        "-expandEnv")));
        Demo.await(
                "the restarted server's healthcheck",
                Duration.ofSeconds(60),
                () -> {
                    assertThat(restarted.isAlive())
                            .as(
                                    "restarted server alive; log: %s",
                                    Files.readString(
                                            demo.dir.resolve("logs/cluster2-server-restarted.log")))
                            .isTrue();
                    return Demo.exec(
                                            demo.mithril(
                                                    null,
                                                    "server",
                                                    "healthcheck",
                                                    "-socketPath",
                                                    demo.adminSocket(2).toString()))
                                    .exit()
                            == 0;
                });
        // Recovery without intervention: an entry created now reaches the (untouched) agent on its
        // next sync.
        int probeUid = 20298;
        String probeId = "spiffe://example.org/ns/default/sa/reliability-probe";
        Demo.Exec create =
                Demo.exec(
                        demo.mithril(
                                null,
                                "server",
                                "entry",
                                "create",
                                "-socketPath",
                                demo.adminSocket(2).toString(),
                                "-parentID",
                                "spiffe://example.org/cluster2/node",
                                "-spiffeID",
                                probeId,
                                "-selector",
                                "unix:uid:" + probeUid));
        assertThat(create.exit()).as(create.out()).isZero();
        Demo.Exec[] fetch = new Demo.Exec[1];
        Demo.await(
                "the new entry's SVID from cluster 2's agent",
                Duration.ofSeconds(60),
                () -> {
                    fetch[0] =
                            Demo.exec(
                                    demo.mithril(
                                            probeUid,
                                            "agent",
                                            "api",
                                            "fetch",
                                            "x509",
                                            "-socketPath",
                                            demo.agentSocket(2).toString()));
                    return fetch[0].exit() == 0;
                });
        assertThat(fetch[0].out()).contains(probeId);
        assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                .isEqualTo("HTTP_CODE=200");
    }

    private static final int ISTIOD_UID = 20202;

    /** Proxies the control plane lists as SYNCED (ACKed the version it sent), by SPIFFE ID. */
    private List<String> syncedProxies() throws Exception {
        Demo.Exec r =
                Demo.exec(
                        demo.inCluster(
                                2,
                                demo.mithril(
                                        null,
                                        "controlplane",
                                        "status",
                                        "-adminAddress",
                                        demo.hostPort("controlplane.admin"))));
        List<String> synced = new ArrayList<>();
        if (r.exit() != 0) {
            return synced;
        }
        for (String line : r.out().split("\n")) {
            Matcher m = Pattern.compile("\\s(spiffe://\\S+)\\s.*\\sSYNCED\\s").matcher(line);
            if (m.find()) {
                synced.add(m.group(1));
            }
        }
        synced.sort(null);
        return synced;
    }

    @Test
    @Order(9)
    void
            controlPlaneKilledWithSigkillTrafficFlowsOnTheLastConfigurationAndProxiesResyncAfterRestart()
                    throws Exception {
        List<String> before = syncedProxies();
        assertThat(before)
                .as("gateway and sidecars SYNCED before the outage")
                .hasSizeGreaterThanOrEqualTo(7);
        ProcessHandle cp = demo.child("controlplane", "run", "cluster2/controlplane.conf");
        cp.destroyForcibly();
        cp.onExit().get();
        requestsKeepSucceedingFor(Duration.ofSeconds(15), "control plane outage");

        Process restarted =
                demo.background(
                        "istiod-restarted",
                        demo.inCluster(
                                2,
                                demo.mithril(
                                        ISTIOD_UID,
                                        "controlplane",
                                        "run",
                                        "-config",
                                        demo.dir
                                                .resolve("config/cluster2/controlplane.conf")
                                                .toString(),
                                        "-expandEnv")));
        Demo.await(
                "every proxy SYNCED with the restarted control plane",
                Duration.ofSeconds(90),
                () -> {
                    assertThat(restarted.isAlive())
                            .as(
                                    "restarted control plane alive; log: %s",
                                    Files.readString(demo.dir.resolve("logs/istiod-restarted.log")))
                            .isTrue();
                    return syncedProxies().equals(before);
                });
        System.out.printf("control plane restart: %d proxies SYNCED again%n", before.size());
        assertThat(Demo.exec(demo.curlWithSleepSvid("/productpage")).out())
                .isEqualTo("HTTP_CODE=200");
    }

    // ---- logs ----

    @Test
    @Order(10)
    void noLogLineHoldsPrivateKeyMaterial() throws Exception {
        // Needles: every 48-character run of each key's base64 DER at 16 offsets (PEM lines, JSON
        // fields or
        // a logged byte array in base64 would match one), and the hex of its first 32 bytes.
        List<String> needles = new ArrayList<>();
        int keys = 0;
        for (Path f : keyFiles()) {
            List<byte[]> ders = new ArrayList<>();
            String text = Files.readString(f, StandardCharsets.ISO_8859_1);
            Matcher pem =
                    Pattern.compile(
                                    "-----BEGIN [A-Z ]*PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END")
                            .matcher(text);
            while (pem.find()) {
                ders.add(Base64.getMimeDecoder().decode(pem.group(1)));
            }
            Matcher json =
                    Pattern.compile("\"private_key\"\\s*:\\s*\"([A-Za-z0-9+/=]+)\"").matcher(text);
            while (json.find()) {
                ders.add(Base64.getDecoder().decode(json.group(1)));
            }
            if (ders.isEmpty() && f.getFileName().toString().endsWith(".key")) {
                ders.add(Files.readAllBytes(f));
            }
            for (byte[] der : ders) {
                keys++;
                String b64 = Base64.getEncoder().encodeToString(der);
                for (int off = 0; off + 48 <= b64.length(); off += Math.max(1, b64.length() / 16)) {
                    needles.add(b64.substring(off, off + 48));
                }
                needles.add(java.util.HexFormat.of().formatHex(der, 0, Math.min(32, der.length)));
            }
        }
        assertThat(keys).as("private keys found on disk").isGreaterThanOrEqualTo(6);
        List<Path> logs = new ArrayList<>();
        try (Stream<Path> s = Files.list(demo.dir.resolve("logs"))) {
            logs.addAll(s.toList());
        }
        logs.add(demo.output);
        long lines = 0;
        List<String> hits = new ArrayList<>();
        for (Path log : logs) {
            for (String line : Files.readAllLines(log, StandardCharsets.ISO_8859_1)) {
                lines++;
                if (line.contains("PRIVATE KEY")) {
                    hits.add(log.getFileName() + ": " + line);
                }
                for (String n : needles) {
                    if (line.contains(n)) {
                        hits.add(log.getFileName() + ": key material: " + line);
                        break;
                    }
                }
            }
        }
        System.out.printf(
                "logs: %d files, %d lines scanned for %d keys: %d hits%n",
                logs.size(), lines, keys, hits.size());
        assertThat(hits).as("log lines with private key material").isEmpty();
    }
}
