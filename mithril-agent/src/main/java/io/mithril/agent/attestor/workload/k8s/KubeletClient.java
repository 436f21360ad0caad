package io.mithril.agent.attestor.workload.k8s;

import io.mithril.agent.config.K8sWorkloadAttestorConfig;
import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Reads the kubelet's {@code /pods}, as SPIRE's attestor does: plain HTTP on {@code
 * 127.0.0.1:<kubelet_read_only_port>}, or HTTPS on {@code <node name>:<kubelet_secure_port>} with
 * the bearer token from {@code token_path} (read at each request, so a rotated token is used) and
 * the kubelet's certificate checked against {@code kubelet_ca_path} (host name too when the node
 * name is known; chain only on 127.0.0.1), unless {@code skip_kubelet_verification}.
 */
final class KubeletClient {

    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final K8sWorkloadAttestorConfig config;
    private final HttpClient http;
    private final URI uri;

    KubeletClient(K8sWorkloadAttestorConfig config) throws IOException {
        this.config = config;
        HttpClient.Builder b =
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(REQUEST_TIMEOUT)
                        .followRedirects(HttpClient.Redirect.NEVER);
        if (config.secure()) {
            b.sslContext(sslContext(config));
            String host = config.nodeName().isEmpty() ? "127.0.0.1" : config.nodeName();
            uri = URI.create("https://" + hostPort(host, config.port()) + "/pods");
        } else {
            uri = URI.create("http://127.0.0.1:" + config.port() + "/pods");
        }
        http = b.build();
    }

    private static String hostPort(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    URI uri() {
        return uri;
    }

    /** The {@code /pods} JSON. */
    String pods() throws IOException, InterruptedException {
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET();
        if (config.secure() && !config.useAnonymousAuthentication()) {
            String token = Files.readString(config.tokenPath(), StandardCharsets.UTF_8).trim();
            req.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r =
                http.send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (r.statusCode() != 200) {
            throw new IOException(
                    "unexpected status code on pods response from " + uri + ": " + r.statusCode());
        }
        return r.body();
    }

    private static SSLContext sslContext(K8sWorkloadAttestorConfig config) throws IOException {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            if (config.skipKubeletVerification()) {
                ctx.init(null, new TrustManager[] {new ChainOnly(null)}, null);
                return ctx;
            }
            List<X509Certificate> cas;
            try {
                cas = Pem.readCertificates(config.kubeletCaPath());
            } catch (PkiException e) {
                throw new IOException(
                        "unable to load kubelet CA from "
                                + config.kubeletCaPath()
                                + ": "
                                + e.getMessage(),
                        e);
            }
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                ks.setCertificateEntry("kubelet-ca-" + i, cas.get(i));
            }
            TrustManagerFactory tmf =
                    TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            X509TrustManager pkix = (X509TrustManager) tmf.getTrustManagers()[0];
            // With a node name the JDK's trust manager checks the chain and the host name; without
            // one (127.0.0.1) SPIRE checks the chain only.
            ctx.init(
                    null,
                    new TrustManager[] {config.nodeName().isEmpty() ? new ChainOnly(pkix) : pkix},
                    null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("kubelet TLS: " + e.getMessage(), e);
        }
    }

    /**
     * Checks the server chain with {@code pkix} and not the host name; with null, checks nothing
     * (skip_kubelet_verification).
     */
    private static final class ChainOnly extends X509ExtendedTrustManager {
        private final X509TrustManager pkix;

        ChainOnly(X509TrustManager pkix) {
            this.pkix = pkix;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws CertificateException {
            if (pkix != null) {
                pkix.checkServerTrusted(chain, authType);
            }
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType)
                throws CertificateException {
            throw new CertificateException("the kubelet client trusts no clients");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix == null ? new X509Certificate[0] : pkix.getAcceptedIssuers();
        }
    }
}
