package io.mithril.cli.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import io.mithril.pki.Pem;
import io.mithril.spiffe.bundle.X509Bundle;
import io.mithril.spiffe.bundle.X509BundleSet;
import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.svid.X509Svid;
import io.mithril.spiffe.testing.HeldCertificate;
import io.mithril.spiffe.tls.SpiffeIdAuthorizer;
import io.mithril.spiffe.tls.SpiffeKeyManager;
import io.mithril.spiffe.tls.SpiffeTrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code mithril inspect} on good and broken inputs: each refusal it names (unknown CA, other trust
 * domain, expired, not yet valid, ID not allowed, and a server refusing our handshake) is produced
 * here for real, with real certificates and a real TLS server.
 */
class InspectCommandTest {

    private static final String SLEEP = "spiffe://example.org/ns/default/sa/sleep";

    @TempDir Path tmp;

    private HeldCertificate root;
    private HeldCertificate intermediate;
    private Path bundle;

    @BeforeEach
    void pki() {
        root = HeldCertificate.builder().commonName("Upstream CA").ca().build();
        intermediate =
                HeldCertificate.builder()
                        .commonName("cluster 2 CA")
                        .spiffeId("spiffe://example.org")
                        .ca()
                        .signedBy(root)
                        .build();
        bundle = tmp.resolve("bundle.pem");
        Pem.writeCertificates(bundle, List.of(root.certificate()));
    }

    private Path svid(String name, HeldCertificate.Builder spec) {
        HeldCertificate leaf = spec.signedBy(intermediate).build();
        Path f = tmp.resolve(name + ".pem");
        Pem.writeCertificates(f, List.of(leaf.certificate(), intermediate.certificate()));
        Pem.writePrivateKey(tmp.resolve(name + ".key"), leaf.privateKey());
        return f;
    }

    record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        picocli.CommandLine cl = Main.newCommandLine();
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(out));
        cl.setErr(new java.io.PrintWriter(err));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void aGoodSvidIsExplainedAndAccepted() {
        Run r =
                run(
                        "inspect",
                        svid("good", HeldCertificate.builder().spiffeId(SLEEP)).toString(),
                        "-bundle",
                        bundle.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out())
                .contains("certificate 0 (leaf)")
                .contains("SPIFFE ID: " + SLEEP)
                .contains("key:       EC P-256")
                .contains("certificate 1 (intermediate CA)")
                .contains("issuer:    CN=Upstream CA")
                .contains("valid, expires in")
                .contains("verdict: accepted: " + SLEEP + " chains to CN=Upstream CA");
        // Without a bundle: described, trust not checked, exit 0; a bundle file alone is described
        // as roots.
        assertThat(run("inspect", tmp.resolve("good.pem").toString()).out())
                .contains("no -bundle given: trust not checked");
        assertThat(run("inspect", bundle.toString()).out())
                .contains("certificate 0 (root CA)")
                .contains("a bundle of 1 root(s)");
    }

    @Test
    void eachRefusalIsNamedWithANonZeroExit() {
        HeldCertificate foreign = HeldCertificate.builder().commonName("Foreign CA").ca().build();
        Path foreignBundle = tmp.resolve("foreign.pem");
        Pem.writeCertificates(foreignBundle, List.of(foreign.certificate()));
        Path good = svid("good", HeldCertificate.builder().spiffeId(SLEEP));
        expectRefused(
                run("inspect", good.toString(), "-bundle", foreignBundle.toString()),
                "refused (unknown CA): the chain does not lead to any of the bundle's 1 root(s) of example.org (CN=Foreign CA");

        Path other =
                svid(
                        "other",
                        HeldCertificate.builder()
                                .spiffeId("spiffe://other.org/ns/default/sa/sleep"));
        expectRefused(
                run(
                        "inspect",
                        other.toString(),
                        "-bundle",
                        bundle.toString(),
                        "-trustDomain",
                        "example.org"),
                "refused (other trust domain): the certificate is of trust domain other.org, the bundle is for example.org");

        HeldCertificate.Builder expired =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .validityInterval(
                                Instant.now().minus(Duration.ofHours(5)),
                                Instant.now().minus(Duration.ofHours(2)));
        expectRefused(
                run("inspect", svid("expired", expired).toString(), "-bundle", bundle.toString()),
                "refused (expired): certificate 0 expired at");

        HeldCertificate.Builder future =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .validityInterval(
                                Instant.now().plus(Duration.ofMinutes(30)),
                                Instant.now().plus(Duration.ofHours(1)));
        expectRefused(
                run("inspect", svid("future", future).toString(), "-bundle", bundle.toString()),
                "refused (not yet valid): certificate 0 is valid only from");

        expectRefused(
                run(
                        "inspect",
                        good.toString(),
                        "-bundle",
                        bundle.toString(),
                        "-allowedID",
                        "spiffe://example.org/ns/default/sa/ratings"),
                "refused (ID not allowed)");
    }

    @Test
    void badInputIsAClearError() {
        Run none = run("inspect", tmp.resolve("missing.pem").toString());
        assertThat(none.code()).isNotZero();
        assertThat(none.err()).contains("missing.pem: no such file, and not HOST:PORT");
        Path notPem = tmp.resolve("not.pem");
        Pem.writePrivateKey(notPem, HeldCertificate.ecKeyPair("secp256r1").getPrivate());
        Run noCert = run("inspect", notPem.toString());
        assertThat(noCert.code()).isNotZero();
        assertThat(noCert.err()).contains("no CERTIFICATE block");
    }

    @Test
    void aHandshakeShowsThePeerAndWhetherItRefusedUs() throws Exception {
        // A real mTLS server that accepts only SVIDs under the root and the sleep ID.
        HeldCertificate serverLeaf =
                HeldCertificate.builder()
                        .spiffeId("spiffe://example.org/ns/istio-system/sa/gateway")
                        .signedBy(intermediate)
                        .build();
        X509Svid serverSvid =
                X509Svid.of(
                        List.of(serverLeaf.certificate(), intermediate.certificate()),
                        serverLeaf.privateKey());
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(
                new KeyManager[] {new SpiffeKeyManager(() -> serverSvid)},
                new TrustManager[] {
                    new SpiffeTrustManager(
                            X509BundleSet.of(
                                    X509Bundle.of(
                                            TrustDomain.parse("example.org"),
                                            List.of(root.certificate()))),
                            SpiffeIdAuthorizer.oneOf(
                                    List.of(io.mithril.spiffe.id.SpiffeId.parse(SLEEP))))
                },
                null);
        try (SSLServerSocket server =
                (SSLServerSocket)
                        ctx.getServerSocketFactory()
                                .createServerSocket(
                                        0, 8, java.net.InetAddress.getLoopbackAddress())) {
            server.setNeedClientAuth(true);
            Thread accept =
                    new Thread(
                            () -> {
                                while (!server.isClosed()) {
                                    try (SSLSocket s = (SSLSocket) server.accept()) {
                                        s.setSoTimeout(5000);
                                        s.startHandshake();
                                        s.getInputStream().read();
                                    } catch (IOException e) {
                                        // a refused client, or the test ended
                                    }
                                }
                            });
            accept.setDaemon(true);
            accept.start();
            String peer = "127.0.0.1:" + server.getLocalPort();
            Path good = svid("client", HeldCertificate.builder().spiffeId(SLEEP));
            Run ok =
                    run(
                            "inspect",
                            peer,
                            "-cert",
                            good.toString(),
                            "-key",
                            tmp.resolve("client.key").toString(),
                            "-bundle",
                            bundle.toString());
            assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
            assertThat(ok.out())
                    .contains("the server presented 2 certificate(s)")
                    .contains("SPIFFE ID: spiffe://example.org/ns/istio-system/sa/gateway")
                    .contains("verdict: accepted")
                    .contains("the server accepted our certificate");

            Run noCert = run("inspect", peer, "-bundle", bundle.toString());
            expectRefused(noCert, "the server refused us:");
            // The JDK server answers an empty certificate with bad_certificate (or closes first):
            // said, with the hint.
            assertThat(noCert.out())
                    .containsAnyOf(
                            "refuse a client without a certificate, and we sent none (give -cert and -key)",
                            "a server that requires a client certificate may do this: give -cert and -key");

            HeldCertificate foreign =
                    HeldCertificate.builder().commonName("Foreign CA").ca().build();
            HeldCertificate foreignLeaf =
                    HeldCertificate.builder().spiffeId(SLEEP).signedBy(foreign).build();
            Pem.writeCertificates(tmp.resolve("foreign.pem"), List.of(foreignLeaf.certificate()));
            Pem.writePrivateKey(tmp.resolve("foreign.key"), foreignLeaf.privateKey());
            Run foreignCert =
                    run(
                            "inspect",
                            peer,
                            "-cert",
                            tmp.resolve("foreign.pem").toString(),
                            "-key",
                            tmp.resolve("foreign.key").toString(),
                            "-bundle",
                            bundle.toString());
            expectRefused(foreignCert, "the server refused us:");
            // The JDK server's alert can race its close (TLS 1.3 refuses after our Finished):
            // either is said as it is.
            assertThat(foreignCert.out())
                    .containsAnyOf(
                            "it refused our certificate without saying why (certificate_unknown",
                            "the server closed the connection without a TLS alert");
            assertThat(foreignCert.out()).doesNotContain("requires a client certificate");
        }
    }

    @Test
    void anAuthorizationPolicyIsJudgedByTheMeshsOwnEvaluation() throws Exception {
        Path policy = tmp.resolve("policy.yaml");
        java.nio.file.Files.writeString(
                policy,
                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: reviews-viewer
                  namespace: default
                spec:
                  selector:
                    matchLabels:
                      app: reviews
                  action: ALLOW
                  rules:
                  - from:
                    - source:
                        principals: ["example.org/ns/default/sa/bookinfo-productpage", "example.org/ns/default/sa/sleep"]
                    to:
                    - operation:
                        methods: ["GET"]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: deny-admin
                  namespace: default
                spec:
                  action: DENY
                  rules:
                  - from:
                    - source:
                        principals: ["example.org/ns/default/sa/sleep"]
                    to:
                    - operation:
                        paths: ["/admin*"]
                """);
        Path sleep = svid("sleep", HeldCertificate.builder().spiffeId(SLEEP));
        Run allowed =
                run(
                        "inspect",
                        sleep.toString(),
                        "-bundle",
                        bundle.toString(),
                        "-policy",
                        policy.toString());
        assertThat(allowed.code()).as(allowed.out() + allowed.err()).isZero();
        assertThat(allowed.out())
                .contains("verdict: accepted: " + SLEEP)
                .contains(
                        "policy "
                                + policy
                                + ": 1 DENY, 1 ALLOW policies (all applied, whatever their selector)")
                .contains(
                        "policy verdict: allowed: "
                                + SLEEP
                                + " for GET /: a rule of ALLOW default/reviews-viewer matches");

        expectRefused(
                run(
                        "inspect",
                        sleep.toString(),
                        "-policy",
                        policy.toString(),
                        "-path",
                        "/admin/users"),
                "policy verdict: denied: "
                        + SLEEP
                        + " for GET /admin/users: a rule of DENY default/deny-admin matches");
        expectRefused(
                run("inspect", sleep.toString(), "-policy", policy.toString(), "-method", "POST"),
                "policy verdict: denied: "
                        + SLEEP
                        + " for POST /: no rule of the ALLOW policies (default/reviews-viewer) matches;"
                        + " principals they allow: example.org/ns/default/sa/bookinfo-productpage, example.org/ns/default/sa/sleep");
        Path ratings =
                svid(
                        "ratings",
                        HeldCertificate.builder()
                                .spiffeId("spiffe://example.org/ns/default/sa/bookinfo-ratings"));
        expectRefused(
                run("inspect", ratings.toString(), "-policy", policy.toString()),
                "policy verdict: denied: spiffe://example.org/ns/default/sa/bookinfo-ratings for GET /: no rule of the ALLOW policies");

        // A broken policy file is an error naming the file and line; a file with no policy too.
        Path broken = tmp.resolve("broken.yaml");
        java.nio.file.Files.writeString(
                broken,
                """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata:
                  name: x
                spec:
                  action: ALOW
                """);
        Run bad = run("inspect", sleep.toString(), "-policy", broken.toString());
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("-policy: " + broken + ":6");
    }

    /**
     * Each TLS alert a server refuses us with is named for what it is, never all of them blamed on
     * a missing client certificate: real {@code openssl s_server}s send certificate_required,
     * unknown_ca, bad_certificate, handshake_failure and protocol_version.
     */
    @Test
    void eachTlsAlertIsExplainedForWhatItSays() throws Exception {
        HeldCertificate serverLeaf =
                HeldCertificate.builder()
                        .spiffeId("spiffe://example.org/ns/istio-system/sa/gateway")
                        .signedBy(intermediate)
                        .build();
        Path serverCert = tmp.resolve("server.pem");
        Path serverChain = tmp.resolve("server-chain.pem");
        Path serverKey = tmp.resolve("server.key");
        Pem.writeCertificates(serverCert, List.of(serverLeaf.certificate()));
        Pem.writeCertificates(serverChain, List.of(intermediate.certificate()));
        Pem.writePrivateKey(serverKey, serverLeaf.privateKey());
        List<String> mtls =
                List.of(
                        "-cert",
                        serverCert.toString(),
                        "-cert_chain",
                        serverChain.toString(),
                        "-key",
                        serverKey.toString(),
                        "-CAfile",
                        bundle.toString(),
                        "-Verify",
                        "2",
                        "-verify_return_error");
        Path good = svid("client", HeldCertificate.builder().spiffeId(SLEEP));
        String goodKey = tmp.resolve("client.key").toString();
        HeldCertificate foreign = HeldCertificate.builder().commonName("Foreign CA").ca().build();
        HeldCertificate foreignLeaf =
                HeldCertificate.builder().spiffeId(SLEEP).signedBy(foreign).build();
        Pem.writeCertificates(tmp.resolve("foreign.pem"), List.of(foreignLeaf.certificate()));
        Pem.writePrivateKey(tmp.resolve("foreign.key"), foreignLeaf.privateKey());
        HeldCertificate.Builder future =
                HeldCertificate.builder()
                        .spiffeId(SLEEP)
                        .validityInterval(
                                Instant.now().plus(Duration.ofDays(1)),
                                Instant.now().plus(Duration.ofDays(2)));
        Path notYet = svid("notyet", future);

        try (OpensslServer server = OpensslServer.start(mtls, "-tls1_3")) {
            Run noCert = run("inspect", server.target(), "-bundle", bundle.toString());
            expectRefused(noCert, "certificate_required");
            assertThat(noCert.out())
                    .contains(
                            "it requires a client certificate (certificate_required): give -cert and -key");

            Run foreignCert =
                    run(
                            "inspect",
                            server.target(),
                            "-cert",
                            tmp.resolve("foreign.pem").toString(),
                            "-key",
                            tmp.resolve("foreign.key").toString(),
                            "-bundle",
                            bundle.toString());
            expectRefused(foreignCert, "unknown_ca");
            assertThat(foreignCert.out())
                    .contains("it does not trust the CA of our certificate (unknown_ca)")
                    .doesNotContain("requires a client certificate");

            Run notYetValid =
                    run(
                            "inspect",
                            server.target(),
                            "-cert",
                            notYet.toString(),
                            "-key",
                            tmp.resolve("notyet.key").toString(),
                            "-bundle",
                            bundle.toString());
            expectRefused(notYetValid, "bad_certificate");
            assertThat(notYetValid.out())
                    .contains("it found our certificate bad (bad_certificate)")
                    .doesNotContain("requires a client certificate");
        }
        // ARIA only: the JDK offers no ARIA suite.
        try (OpensslServer server =
                OpensslServer.start(mtls, "-tls1_2", "-cipher", "ECDHE-ECDSA-ARIA256-GCM-SHA384")) {
            Run r =
                    run(
                            "inspect",
                            server.target(),
                            "-cert",
                            good.toString(),
                            "-key",
                            goodKey,
                            "-bundle",
                            bundle.toString());
            expectRefused(r, "handshake_failure");
            assertThat(r.out())
                    .contains("we have no protocol parameters in common (handshake_failure)")
                    .doesNotContain("client certificate");
        }
        // TLS 1.1 only (security level 0 lets OpenSSL 3 offer it): inspect offers 1.3 and 1.2.
        try (OpensslServer server =
                OpensslServer.start(mtls, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")) {
            Run r =
                    run(
                            "inspect",
                            server.target(),
                            "-cert",
                            good.toString(),
                            "-key",
                            goodKey,
                            "-bundle",
                            bundle.toString());
            expectRefused(r, "protocol_version");
            assertThat(r.out())
                    .contains("we have no TLS version in common (protocol_version)")
                    .doesNotContain("client certificate");
        }
    }

    /** A real {@code openssl s_server} on a free loopback port, stopped on close. */
    private record OpensslServer(Process process, int port) implements AutoCloseable {
        static OpensslServer start(List<String> common, String... more) throws Exception {
            int port;
            try (java.net.ServerSocket probe =
                    new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = probe.getLocalPort();
            }
            List<String> cmd =
                    new java.util.ArrayList<>(
                            List.of(
                                    "openssl",
                                    "s_server",
                                    "-accept",
                                    "127.0.0.1:" + port,
                                    "-quiet"));
            cmd.addAll(common);
            cmd.addAll(List.of(more));
            Process p =
                    new ProcessBuilder(cmd)
                            .redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .start();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return new OpensslServer(p, port);
                } catch (IOException e) {
                    if (!p.isAlive() || System.nanoTime() > deadline) {
                        p.destroyForcibly();
                        throw new IllegalStateException(
                                "openssl s_server did not start: " + cmd, e);
                    }
                    Thread.sleep(50);
                }
            }
        }

        String target() {
            return "127.0.0.1:" + port;
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    /**
     * A SPIFFE bundle file with the root, a JWT key "k1", and a key of a use a SPIFFE bundle
     * ignores.
     */
    private Path spiffeBundle(java.security.PublicKey jwtKey) throws IOException {
        io.mithril.spiffe.bundle.SpiffeBundle b =
                new io.mithril.spiffe.bundle.SpiffeBundle(
                        TrustDomain.parse("example.org"),
                        java.util.Set.of(root.certificate()),
                        java.util.Map.of("k1", jwtKey),
                        java.util.OptionalLong.of(7),
                        java.util.Optional.of(Duration.ofMinutes(5)));
        com.fasterxml.jackson.databind.node.ObjectNode json =
                (com.fasterxml.jackson.databind.node.ObjectNode)
                        new com.fasterxml.jackson.databind.ObjectMapper().readTree(b.toJson());
        json.withArray("keys").addObject().put("use", "sig").put("kty", "EC").put("kid", "oidc");
        Path f = tmp.resolve("bundle.json");
        java.nio.file.Files.writeString(f, json.toString());
        return f;
    }

    private Path token(
            String name, String sub, Instant exp, String kid, java.security.PrivateKey key)
            throws IOException {
        Path f = tmp.resolve(name + ".jwt");
        java.nio.file.Files.writeString(
                f,
                io.mithril.spiffe.svid.JwtSvid.sign(
                                        io.mithril.spiffe.id.SpiffeId.parse(sub),
                                        List.of("reviews", "ratings"),
                                        exp,
                                        kid,
                                        key)
                                .token()
                        + "\n");
        return f;
    }

    @Test
    void aJwtSvidIsExplainedWithTheBundleKeyThatVerifiesIt() throws Exception {
        java.security.KeyPair k1 = HeldCertificate.ecKeyPair("secp256r1");
        Path spiffe = spiffeBundle(k1.getPublic());
        Instant exp = Instant.now().plus(Duration.ofMinutes(5));
        Path good = token("good", SLEEP, exp, "k1", k1.getPrivate());
        Run ok =
                run(
                        "inspect",
                        good.toString(),
                        "-bundle",
                        spiffe.toString(),
                        "-audience",
                        "reviews");
        assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out())
                .contains("JWT-SVID of")
                .contains("the signature is not printed")
                .contains("header:   alg ES256, kid k1, typ JWT")
                .contains("subject:  " + SLEEP)
                .contains("audience: reviews, ratings")
                .containsPattern(
                        "exp: +"
                                + java.util.regex.Pattern.quote(
                                        exp.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                                                .toString())
                                + " \\(valid, expires in [45]m\\)")
                .contains(
                        "verdict: accepted: "
                                + SLEEP
                                + ", signed by the JWT authority kid \"k1\" (EC P-256) of the bundle of example.org")
                .contains("audience [reviews, ratings] contains [reviews]");
        // the token itself on the command line, and without a kid: the key is found by trying each
        String token = java.nio.file.Files.readString(good).strip();
        assertThat(run("inspect", token, "-bundle", spiffe.toString()).out())
                .contains("verdict: accepted")
                .contains("audience not checked (give -audience)");
        Path noKid = token("nokid", SLEEP, exp, null, k1.getPrivate());
        assertThat(run("inspect", noKid.toString(), "-bundle", spiffe.toString()).out())
                .contains("header:   alg ES256, kid (none)")
                .contains("signed by the JWT authority kid \"k1\"");
        // without a bundle: explained, the signature not checked
        Run unchecked = run("inspect", good.toString());
        assertThat(unchecked.code()).isZero();
        assertThat(unchecked.out())
                .contains("signature not checked (give -bundle, a SPIFFE bundle)");
    }

    @Test
    void eachJwtRefusalIsNamedWithANonZeroExit() throws Exception {
        java.security.KeyPair k1 = HeldCertificate.ecKeyPair("secp256r1");
        Path spiffe = spiffeBundle(k1.getPublic());
        Instant exp = Instant.now().plus(Duration.ofMinutes(5));
        expectRefused(
                run(
                        "inspect",
                        token(
                                        "expired",
                                        SLEEP,
                                        Instant.now().minusSeconds(90),
                                        "k1",
                                        k1.getPrivate())
                                .toString(),
                        "-bundle",
                        spiffe.toString()),
                "verdict: refused (expired): token expired at");
        expectRefused(
                run(
                        "inspect",
                        token("unknown", SLEEP, exp, "k9", k1.getPrivate()).toString(),
                        "-bundle",
                        spiffe.toString()),
                "verdict: refused (unknown key): no JWT authority with key ID \"k9\" in the bundle of trust domain \"example.org\"");
        expectRefused(
                run(
                        "inspect",
                        token(
                                        "forged",
                                        SLEEP,
                                        exp,
                                        "k1",
                                        HeldCertificate.ecKeyPair("secp256r1").getPrivate())
                                .toString(),
                        "-bundle",
                        spiffe.toString()),
                "verdict: refused (bad signature): signature does not verify with the JWT authority with key ID \"k1\"");
        Path good = token("good", SLEEP, exp, "k1", k1.getPrivate());
        expectRefused(
                run(
                        "inspect",
                        good.toString(),
                        "-bundle",
                        spiffe.toString(),
                        "-trustDomain",
                        "other.org"),
                "verdict: refused (other trust domain)");
        expectRefused(
                run(
                        "inspect",
                        good.toString(),
                        "-bundle",
                        spiffe.toString(),
                        "-audience",
                        "details"),
                "verdict: refused (audience): audience [reviews, ratings] does not contain the expected \"details\"");
        expectRefused(
                run(
                        "inspect",
                        good.toString(),
                        "-bundle",
                        spiffe.toString(),
                        "-allowedID",
                        "spiffe://example.org/ns/default/sa/ratings"),
                "verdict: refused (ID not allowed)");
        // a PEM bundle has no JWT keys: said so
        expectRefused(
                run("inspect", good.toString(), "-bundle", bundle.toString()),
                "the -bundle is PEM: it has no JWT keys");
        Run garbage = run("inspect", "eyJub3Q.anNvbg.x");
        assertThat(garbage.code()).isNotZero();
        assertThat(garbage.err()).contains("token: the JWT's header is not base64url JSON");
    }

    @Test
    void aSpiffeBundleIsExplainedKeyByKeyAndServesAsBundleForX509Too() throws Exception {
        Path spiffe = spiffeBundle(HeldCertificate.ecKeyPair("secp256r1").getPublic());
        Run r = run("inspect", spiffe.toString(), "-trustDomain", "example.org");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out())
                .contains("SPIFFE bundle (JWK Set), trust domain example.org")
                .contains("spiffe_sequence:     7")
                .contains("spiffe_refresh_hint: 300s (5m)")
                .contains("key 0: use x509-svid (an X.509 authority), EC P-256")
                .contains("subject:   CN=Upstream CA")
                .contains("key 1: use jwt-svid (a JWT authority), kid \"k1\", EC P-256")
                .contains(
                        "key 2: use \"sig\", EC: ignored (a SPIFFE bundle's keys are x509-svid or jwt-svid)")
                .contains("verdict: a valid SPIFFE bundle: 1 X.509 authority, 1 JWT authority");
        Run svid =
                run(
                        "inspect",
                        svid("good", HeldCertificate.builder().spiffeId(SLEEP)).toString(),
                        "-bundle",
                        spiffe.toString());
        assertThat(svid.code()).as(svid.out() + svid.err()).isZero();
        assertThat(svid.out())
                .contains("verdict: accepted: " + SLEEP + " chains to CN=Upstream CA");

        Path dup = tmp.resolve("dup.json");
        String k = "{\"use\":\"jwt-svid\",\"kty\":\"EC\",\"kid\":\"a\"}";
        java.nio.file.Files.writeString(dup, "{\"keys\":[" + k + "," + k + "]}");
        Run bad = run("inspect", dup.toString());
        expectRefused(bad, "verdict: not a valid SPIFFE bundle:");
        Run badAsBundle =
                run("inspect", tmp.resolve("good.pem").toString(), "-bundle", dup.toString());
        assertThat(badAsBundle.code()).isNotZero();
        assertThat(badAsBundle.err()).contains("-bundle " + dup + ": SPIFFE bundle");
    }

    private static void expectRefused(Run r, String words) {
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains(words);
    }
}
