package io.mithril.k8s;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Kubernetes API clients as SPIRE's plugins make them: from the kubeconfig file at {@code
 * kube_config_file} when one is given, otherwise from the in-cluster configuration (the pod's
 * service-account token and CA under {@code /var/run/secrets/kubernetes.io/serviceaccount} and
 * {@code KUBERNETES_SERVICE_HOST}/{@code _PORT}).
 */
public final class KubeClients {

    private KubeClients() {}

    /**
     * A client for the cluster named by {@code kubeConfigFile}, or the in-cluster one when it is
     * null or empty.
     *
     * @param what the configuration key this client serves, for error messages
     * @throws IllegalArgumentException naming the file when it cannot be read or parsed
     */
    public static KubernetesClient create(Path kubeConfigFile, String what) {
        Config config;
        if (kubeConfigFile == null || kubeConfigFile.toString().isEmpty()) {
            String host = System.getenv("KUBERNETES_SERVICE_HOST");
            if (host == null || host.isEmpty()) {
                throw new IllegalArgumentException(
                        what
                                + ": no kube_config_file and no in-cluster configuration "
                                + "(KUBERNETES_SERVICE_HOST is not set): set kube_config_file when running outside the cluster");
            }
            config = Config.autoConfigure(null);
        } else {
            String text;
            try {
                text = Files.readString(kubeConfigFile, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        what + ": kube_config_file " + kubeConfigFile + " cannot be read: " + e, e);
            }
            try {
                config = Config.fromKubeconfig(null, text, kubeConfigFile.toString());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(
                        what
                                + ": kube_config_file "
                                + kubeConfigFile
                                + " is not a kubeconfig: "
                                + e.getMessage(),
                        e);
            }
        }
        return new KubernetesClientBuilder().withConfig(config).build();
    }
}
