package io.mithril.cli.inspect;

import io.mithril.api.workload.client.WorkloadApiAddress;
import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.X509Context;
import io.mithril.cli.Cli;
import io.mithril.pki.Pem;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mithril inspect FILE.pem | HOST:PORT [-cert C -key K] | -socketPath SOCK [-bundle FILE]}:
 * explains a chain in words and, with a bundle, whether it would be accepted and why not. Exit 1
 * when it would be refused (or the peer refused us), 0 otherwise.
 */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {
            "Explain a certificate chain, an SVID file, a bundle, a TLS peer or a Workload API socket.",
            "",
            "Prints each certificate's subject, SPIFFE ID, key, validity and issuer; with -bundle, whether the chain",
            "would be accepted as an X509-SVID and, if not, why (unknown CA, other trust domain, expired, not yet",
            "valid, ID not allowed). For HOST:PORT it makes a TLS handshake (with -cert/-key as the client) and",
            "also says whether the peer refused us. Exits 1 on a refusal."
        })
public final class InspectCommand implements Callable<Integer> {

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "FILE|TOKEN|HOST:PORT",
            description =
                    "A PEM file, a JWT-SVID (a file, the token, or - for stdin), a SPIFFE bundle (JWKS) file, or a TLS peer.")
    String target;

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "SOCK",
            description = "Inspect the X509-SVIDs the Workload API gives the caller.")
    String socketPath;

    @Option(
            names = {"-bundle", "--bundle"},
            paramLabel = "FILE",
            description =
                    "Trust bundle to check against: PEM roots, or a SPIFFE bundle (JWKS; also has the JWT keys).")
    Path bundle;

    @Option(
            names = {"-audience", "--audience"},
            paramLabel = "AUD",
            description = "JWT-SVID: an audience it must carry (repeatable; default: not checked).")
    List<String> audiences = new ArrayList<>();

    @Option(
            names = {"-trustDomain", "--trustDomain"},
            paramLabel = "NAME",
            description = "The bundle's trust domain (default: the leaf's).")
    String trustDomain;

    @Option(
            names = {"-allowedID", "--allowedID"},
            paramLabel = "SPIFFE_ID",
            description = "A SPIFFE ID the peer may have (repeatable; default any).")
    List<String> allowed = new ArrayList<>();

    @Option(
            names = {"-cert", "--cert"},
            paramLabel = "FILE",
            description = "HOST:PORT: our client certificate chain (PEM).")
    Path cert;

    @Option(
            names = {"-key", "--key"},
            paramLabel = "FILE",
            description = "HOST:PORT: its private key (PEM).")
    Path key;

    @Option(
            names = {"-servername", "--servername"},
            paramLabel = "NAME",
            description = "HOST:PORT: the SNI to send.")
    String serverName;

    @Option(
            names = {"-policy", "--policy"},
            paramLabel = "FILE",
            description =
                    "Istio AuthorizationPolicy YAML (repeatable): would the peer's SPIFFE ID be allowed, and why.")
    List<Path> policies = new ArrayList<>();

    @Option(
            names = "-method",
            defaultValue = "GET",
            paramLabel = "METHOD",
            description = "-policy: the request's method (default: ${DEFAULT-VALUE}).")
    String method;

    @Option(
            names = "-path",
            defaultValue = "/",
            paramLabel = "PATH",
            description = "-policy: the request's path (default: ${DEFAULT-VALUE}).")
    String requestPath;

    @Option(
            names = "-host",
            defaultValue = "",
            paramLabel = "HOST",
            description = "-policy: the request's Host (default: none).")
    String host;

    @Option(
            names = "-port",
            defaultValue = "0",
            paramLabel = "PORT",
            description = "-policy: the port it arrives on (default: none).")
    int port;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    private PolicyCheck policy;

    private final Clock clock = Clock.systemUTC();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if ((target == null) == (socketPath == null)) {
            throw new Cli.UserException("give one of FILE.pem, HOST:PORT or -socketPath SOCK");
        }
        List<SpiffeId> ids = spiffeIds("-allowedID", allowed);
        Jose.BundleFile bundleFile = bundle == null ? null : Jose.readBundle(bundle);
        List<X509Certificate> roots = bundleFile == null ? null : bundleFile.roots();
        Explain explain = new Explain(clock);
        policy =
                policies.isEmpty()
                        ? null
                        : new PolicyCheck(policies, method, requestPath, host, port);
        Jose jose = new Jose(clock);
        boolean ok;
        String text =
                socketPath != null
                        ? null
                        : target.equals("-")
                                ? new String(
                                        System.in.readAllBytes(),
                                        java.nio.charset.StandardCharsets.UTF_8)
                                : Jose.isJwt(target) && !Files.exists(Path.of(target))
                                        ? target
                                        : Files.isRegularFile(Path.of(target))
                                                ? Jose.read(Path.of(target), target)
                                                : null;
        String name = target == null || Jose.isJwt(target) ? "token" : target;
        if (text != null && Jose.isJwt(text)) {
            ok = jose.explainJwt(out, name, text, bundleFile, trustDomain, audiences, ids);
        } else if (text != null && Jose.isJson(text)) {
            ok = jose.explainBundle(out, name, text, trustDomain);
        } else if ("-".equals(target)) {
            throw new Cli.UserException(
                    "stdin: neither a JWT-SVID nor a SPIFFE bundle (JSON); give a PEM file by its name");
        } else if (socketPath != null) {
            ok = workloadApi(out, explain, roots, ids);
        } else if (Files.exists(Path.of(target))) {
            List<X509Certificate> chain = readCerts(Path.of(target), target);
            out.println(target + ": " + chain.size() + " certificate(s)");
            ok = chain(out, explain, chain, roots, ids);
        } else if (target.matches(".+:\\d+")) {
            ok = handshake(out, explain, roots, ids);
        } else {
            throw new Cli.UserException(target + ": no such file, and not HOST:PORT");
        }
        out.flush();
        return ok ? 0 : 1;
    }

    private boolean chain(
            PrintWriter out,
            Explain explain,
            List<X509Certificate> chain,
            List<X509Certificate> roots,
            List<SpiffeId> ids) {
        explain.describe(chain).forEach(out::println);
        boolean ok = true;
        if (roots == null) {
            boolean allRoots =
                    chain.stream()
                            .allMatch(
                                    c ->
                                            c.getSubjectX500Principal()
                                                    .equals(c.getIssuerX500Principal()));
            out.println(
                    allRoots
                            ? "a bundle of "
                                    + chain.size()
                                    + " root(s); give -bundle to check a chain against it"
                            : "no -bundle given: trust not checked");
        } else {
            TrustDomain td = bundleDomain(chain);
            Explain.Verdict v = explain.verdict(chain, td, roots, ids);
            out.println("verdict: " + v.words());
            ok = v.accepted();
        }
        if (policy != null) {
            String id =
                    Explain.uris(chain.get(0)).stream()
                            .filter(SpiffeId::isValid)
                            .findFirst()
                            .orElse(null);
            ok &= policy.explain(out, id);
        }
        return ok;
    }

    private TrustDomain bundleDomain(List<X509Certificate> chain) {
        if (trustDomain != null) {
            try {
                return TrustDomain.parse(trustDomain);
            } catch (RuntimeException e) {
                throw new Cli.UserException("-trustDomain " + trustDomain + ": " + e.getMessage());
            }
        }
        for (String u : Explain.uris(chain.get(0))) {
            if (SpiffeId.isValid(u)) {
                return SpiffeId.parse(u).trustDomain();
            }
        }
        throw new Cli.UserException(
                "the leaf has no SPIFFE ID: give the bundle's trust domain with -trustDomain");
    }

    private boolean workloadApi(
            PrintWriter out, Explain explain, List<X509Certificate> roots, List<SpiffeId> ids) {
        String address = socketPath.startsWith("/") ? "unix://" + socketPath : socketPath;
        X509Context ctx;
        try (WorkloadApiClient client =
                WorkloadApiClient.connect(WorkloadApiAddress.parse(address))) {
            ctx = client.fetchX509Context(Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            throw new Cli.UserException("Workload API at " + socketPath + ": " + e.getMessage());
        }
        boolean ok = true;
        for (X509Context.Svid svid : ctx.svids()) {
            out.println(
                    "X509-SVID "
                            + svid.spiffeId()
                            + (svid.hint() == null || svid.hint().isEmpty()
                                    ? ""
                                    : " (hint " + svid.hint() + ")"));
            List<X509Certificate> bundleRoots =
                    roots != null ? roots : ctx.bundles().get(svid.spiffeId().trustDomain());
            if (roots == null) {
                out.println(
                        "  checked against the bundle the Workload API gave for "
                                + svid.spiffeId().trustDomain().name());
            }
            ok &=
                    chain(
                            out,
                            explain,
                            svid.chain(),
                            bundleRoots == null ? List.of() : bundleRoots,
                            ids);
        }
        for (Map.Entry<TrustDomain, List<X509Certificate>> b : ctx.bundles().entrySet()) {
            out.println(
                    "bundle of "
                            + b.getKey().name()
                            + ": "
                            + b.getValue().size()
                            + " root(s): "
                            + String.join(
                                    ", ",
                                    b.getValue().stream()
                                            .map(
                                                    c ->
                                                            c.getSubjectX500Principal().getName()
                                                                    + " SHA-256 "
                                                                    + Explain.fingerprint(c))
                                            .toList()));
        }
        return ok;
    }

    private boolean handshake(
            PrintWriter out, Explain explain, List<X509Certificate> roots, List<SpiffeId> ids)
            throws Exception {
        if ((cert == null) != (key == null)) {
            throw new Cli.UserException("-cert and -key go together");
        }
        int colon = target.lastIndexOf(':');
        String host = target.substring(0, colon);
        int port = Integer.parseInt(target.substring(colon + 1));
        List<X509Certificate[]> seen = new ArrayList<>();
        X509TrustManager capture =
                new X509TrustManager() {
                    @Override
                    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

                    @Override
                    public void checkServerTrusted(X509Certificate[] chain, String authType) {
                        seen.add(chain); // judged below, with the bundle, so that the handshake
                        // shows what the peer sends
                    }

                    @Override
                    public X509Certificate[] getAcceptedIssuers() {
                        return new X509Certificate[0];
                    }
                };
        Presenter presenter = null;
        if (cert != null) {
            List<X509Certificate> ours = readCerts(cert, "-cert");
            PrivateKey pk;
            try {
                pk = Pem.readPrivateKey(key);
            } catch (RuntimeException e) {
                throw new Cli.UserException("-key " + key + ": " + e.getMessage());
            }
            presenter = new Presenter(ours.toArray(X509Certificate[]::new), pk);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(
                presenter == null ? new KeyManager[0] : new KeyManager[] {presenter},
                new TrustManager[] {capture},
                null);
        String refusal = null;
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress(host, port), 10_000);
            s.setSoTimeout(2_000);
            if (serverName != null) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new javax.net.ssl.SNIHostName(serverName)));
                s.setSSLParameters(p);
            }
            try {
                s.startHandshake();
                // TLS 1.3: a server that refuses our certificate says so after its Finished: read
                // to hear it.
                s.getInputStream().read();
            } catch (SocketTimeoutException e) {
                // quiet: the server accepted us and waits for a request
            } catch (SSLException e) {
                refusal = e.getMessage();
            } catch (IOException e) {
                refusal = "connection closed: " + e.getMessage();
            }
        } catch (IOException e) {
            throw new Cli.UserException("cannot connect to " + target + ": " + e.getMessage());
        }
        boolean ok = true;
        if (seen.isEmpty()) {
            out.println(
                    target
                            + ": the handshake failed before the server sent a certificate: "
                            + refusal
                            + " -- "
                            + why(refusal, presenter != null && presenter.presented));
            return false;
        }
        List<X509Certificate> chain = List.of(seen.get(0));
        out.println(target + ": the server presented " + chain.size() + " certificate(s)");
        ok &= chain(out, explain, chain, roots, ids);
        if (refusal != null) {
            out.println(
                    "the server refused us: "
                            + refusal
                            + " -- "
                            + why(refusal, presenter != null && presenter.presented));
            ok = false;
        } else {
            out.println(
                    cert == null
                            ? "the server accepted a client without a certificate"
                            : "the server accepted our certificate");
        }
        return ok;
    }

    /**
     * Parses the values of a repeatable SPIFFE ID flag, naming the flag and the value that is
     * wrong.
     */
    public static List<SpiffeId> spiffeIds(String flag, List<String> values) {
        List<SpiffeId> ids = new ArrayList<>();
        for (String a : values) {
            try {
                ids.add(SpiffeId.parse(a));
            } catch (RuntimeException e) {
                throw new Cli.UserException(flag + " " + a + ": " + e.getMessage());
            }
        }
        return ids;
    }

    /**
     * Presents our certificate whenever the server asks for one. The JDK's own key managers send
     * none when our issuer is not among the CA names the server lists, which would hide the
     * server's verdict on our certificate behind a "certificate required".
     */
    private static final class Presenter extends javax.net.ssl.X509ExtendedKeyManager {
        private final X509Certificate[] chain;
        private final PrivateKey key;
        private volatile boolean presented;

        Presenter(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return new String[] {"client"};
        }

        @Override
        public String chooseClientAlias(
                String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            presented = true;
            return "client";
        }

        @Override
        public String chooseEngineClientAlias(
                String[] keyType,
                java.security.Principal[] issuers,
                javax.net.ssl.SSLEngine engine) {
            presented = true;
            return "client";
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(
                String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return "client".equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return "client".equals(alias) ? key : null;
        }
    }

    private static final java.util.regex.Pattern ALERT =
            java.util.regex.Pattern.compile("alert: ([a-z0-9_]+)");

    /**
     * What the server's refusal means for us, read from the TLS alert it sent (the JDK's {@code
     * Received fatal alert: <description>}), never guessed: each alert says something else, and a
     * missing client certificate is blamed only when the alert says so (or, for the alerts TLS 1.2
     * servers send for it, when we sent none).
     *
     * @param refusal the handshake's failure as the JDK reports it
     * @param sentCertificate whether we presented a client certificate (-cert)
     */
    static String why(String refusal, boolean sentCertificate) {
        java.util.regex.Matcher m = ALERT.matcher(refusal == null ? "" : refusal);
        if (!m.find()) {
            if (refusal != null
                    && (refusal.startsWith("connection closed")
                            || refusal.contains("terminated the handshake"))) {
                return "the server closed the connection without a TLS alert, so it does not say why; its log does"
                        + (sentCertificate
                                ? ""
                                : " (a server that requires a client certificate may do this: give -cert and -key)");
            }
            return "the handshake failed on our side, not by an alert from the server";
        }
        String alert = m.group(1);
        String noCertToo =
                sentCertificate
                        ? ""
                        : "; it is also how some servers (JDK ones, OpenSSL over TLS 1.2) refuse a client without a certificate,"
                                + " and we sent none (give -cert and -key)";
        return switch (alert) {
            case "certificate_required" ->
                    sentCertificate
                            ? "it requires a client certificate and did not take ours as one (certificate_required)"
                            : "it requires a client certificate (certificate_required): give -cert and -key";
            case "unknown_ca" ->
                    "it does not trust the CA of our certificate (unknown_ca): our chain does not lead to a root of its"
                            + " bundle (another CA, or another trust domain whose bundle it does not hold)";
            case "bad_certificate" ->
                    (sentCertificate
                                    ? "it found our certificate bad (bad_certificate): it did not verify for a"
                                            + " reason other than its CA, e.g. not yet valid, a weak signature or key, a broken chain"
                                    : "it refused the handshake with bad_certificate")
                            + noCertToo;
            case "unsupported_certificate" ->
                    "it cannot use our certificate for client authentication (unsupported_certificate):"
                            + " its key usage or extended key usage does not allow it";
            case "certificate_expired" ->
                    "our certificate has expired, or is not yet valid (certificate_expired)";
            case "certificate_revoked" -> "our certificate has been revoked (certificate_revoked)";
            case "certificate_unknown" ->
                    (sentCertificate
                                    ? "it refused our certificate without saying why (certificate_unknown:"
                                            + " JDK servers send it for any chain their trust manager refuses, e.g. an unknown CA, another trust domain or"
                                            + " a SPIFFE ID not allowed); the server's log names the reason"
                                    : "it refused the handshake with certificate_unknown")
                            + noCertToo;
            case "access_denied" ->
                    "our certificate is valid but our identity is not allowed (access_denied)";
            case "decrypt_error" ->
                    "our handshake signature did not verify (decrypt_error): is -key the key of -cert?";
            case "handshake_failure" ->
                    "we have no protocol parameters in common (handshake_failure): cipher suites, key exchange"
                            + " groups or signature algorithms"
                            + noCertToo;
            case "protocol_version" ->
                    "we have no TLS version in common (protocol_version): inspect offers TLS 1.3 and 1.2, the"
                            + " server accepts neither";
            case "insufficient_security" ->
                    "the server wants stronger cipher suites than we offered (insufficient_security)";
            case "no_application_protocol" ->
                    "the server requires an ALPN protocol we did not offer (no_application_protocol)";
            case "unrecognized_name" ->
                    "the server has no certificate for the server name we sent (unrecognized_name): check"
                            + " -serverName";
            case "illegal_parameter", "decode_error", "unexpected_message" ->
                    "the server found our handshake malformed (" + alert + ")";
            default -> "the server sent the TLS alert " + alert;
        };
    }

    private static List<X509Certificate> readCerts(Path file, String what) {
        if (!Files.isReadable(file)) {
            throw new Cli.UserException(what + ": cannot read " + file);
        }
        List<X509Certificate> certs;
        try {
            certs = Pem.readCertificates(file);
        } catch (RuntimeException e) {
            throw new Cli.UserException(what + " " + file + ": " + e.getMessage());
        }
        if (certs.isEmpty()) {
            throw new Cli.UserException(what + " " + file + ": no CERTIFICATE block");
        }
        return certs;
    }
}
