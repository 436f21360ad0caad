package io.mithril.cli.inject;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.mithril.cli.Cli;
import io.mithril.k8s.KubeClients;
import io.mithril.k8s.inject.InjectionWebhook;
import io.mithril.k8s.inject.SidecarInjector;
import io.mithril.pki.Pem;
import io.mithril.pki.PkiException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril inject webhook -tlsCertFile CERT -tlsKeyFile KEY [-port 9443] ...}: serves the
 * injection webhook ({@code POST /inject}, AdmissionReview v1) over TLS until stopped.
 */
@Command(
        name = "webhook",
        mixinStandardHelpOptions = true,
        description = "Serves the sidecar injection webhook over TLS.")
public final class InjectWebhookCommand implements Callable<Integer> {

    @Option(
            names = {"-tlsCertFile", "--tlsCertFile"},
            required = true,
            paramLabel = "FILE",
            description =
                    "The webhook's serving certificate chain (PEM); its DNS name is the webhook Service's.")
    Path certFile;

    @Option(
            names = {"-tlsKeyFile", "--tlsKeyFile"},
            required = true,
            paramLabel = "FILE",
            description = "Its private key (PEM).")
    Path keyFile;

    @Option(
            names = {"-address", "--address"},
            paramLabel = "ADDR",
            description = "Listen address (default: ${DEFAULT-VALUE}).")
    String address = "0.0.0.0";

    @Option(
            names = {"-port", "--port"},
            paramLabel = "PORT",
            description = "Listen port (default: ${DEFAULT-VALUE}).")
    int port = 9443;

    @Option(
            names = {"-proxyImage", "--proxyImage"},
            required = true,
            paramLabel = "IMAGE",
            description = "The image that runs the sidecar.")
    String proxyImage;

    @Option(
            names = {"-controlPlane", "--controlPlane"},
            paramLabel = "HOST:PORT",
            description = "The control plane the sidecars use.")
    String controlPlane;

    @Option(
            names = {"-controlPlaneID", "--controlPlaneID"},
            paramLabel = "SPIFFE_ID",
            description = "The control plane's SPIFFE ID.")
    String controlPlaneId;

    @Option(
            names = {"-trustDomain", "--trustDomain"},
            paramLabel = "TD",
            description = "Trust domain of the sidecars' identities.")
    String trustDomain;

    @Option(
            names = {"-kubeconfig", "--kubeconfig"},
            paramLabel = "FILE",
            description = "Kubeconfig; default: the in-cluster configuration.")
    Path kubeconfig;

    @Override
    public Integer call() throws Exception {
        if (port < 1 || port > 65535) {
            throw new Cli.UserException("-port " + port + " is not a port number (1-65535)");
        }
        SSLContext tls = tls();
        KubernetesClient k8s;
        try {
            k8s = KubeClients.create(kubeconfig, "inject webhook");
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        SidecarInjector injector =
                new SidecarInjector(
                        new SidecarInjector.Settings(
                                proxyImage, controlPlane, controlPlaneId, trustDomain),
                        SidecarInjector.namespaceLabels(k8s));
        InjectionWebhook webhook =
                InjectionWebhook.start(new InetSocketAddress(address, port), tls, injector);
        org.slf4j.LoggerFactory.getLogger(InjectWebhookCommand.class)
                .info("Injection webhook listening: https://{}:{}/inject", address, webhook.port());
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    webhook.close();
                                    k8s.close();
                                    stopped.countDown();
                                },
                                "mithril-inject-shutdown"));
        stopped.await();
        return 0;
    }

    private SSLContext tls() {
        List<X509Certificate> chain;
        PrivateKey key;
        try {
            chain = Pem.readCertificates(certFile);
        } catch (PkiException e) {
            throw new Cli.UserException("-tlsCertFile " + certFile + ": " + e.getMessage(), e);
        }
        if (chain.isEmpty()) {
            throw new Cli.UserException(
                    "-tlsCertFile " + certFile + ": no certificate in the file");
        }
        try {
            key = Pem.readPrivateKey(keyFile);
        } catch (PkiException e) {
            throw new Cli.UserException("-tlsKeyFile " + keyFile + ": " + e.getMessage(), e);
        }
        String why = io.mithril.pki.KeyType.mismatch(key, chain.get(0).getPublicKey());
        if (why != null) {
            throw new Cli.UserException(
                    "-tlsKeyFile "
                            + keyFile
                            + " is not the key of the certificate in -tlsCertFile "
                            + certFile
                            + " ("
                            + why
                            + ")");
        }
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("tls", key, new char[0], chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf =
                    KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (java.security.GeneralSecurityException | java.io.IOException e) {
            throw new Cli.UserException(
                    "-tlsKeyFile "
                            + keyFile
                            + " does not go with -tlsCertFile "
                            + certFile
                            + ": "
                            + e.getMessage(),
                    e);
        }
    }
}
