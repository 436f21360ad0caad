package io.mithril.server.config;

import io.mithril.k8s.psat.PsatClusterConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The server's Kubernetes plugins: {@code NodeAttestor "k8s_psat"} and the bundle publishers {@code
 * BundlePublisher "k8s_configmap"} / {@code Notifier "k8sbundle"}. Read from HCL by {@link
 * K8sPluginsParser}.
 *
 * @param psatClusters the {@code k8s_psat} clusters, or null when that attestor is not configured
 * @param bundleConfigMaps the ConfigMaps the trust bundle is written to (empty for none)
 */
public record K8sPlugins(
        List<PsatClusterConfig> psatClusters, List<BundleConfigMap> bundleConfigMaps) {

    /** No Kubernetes plugin. */
    public static final K8sPlugins NONE = new K8sPlugins(null, List.of());

    public K8sPlugins {
        psatClusters = psatClusters == null ? null : List.copyOf(psatClusters);
        bundleConfigMaps = List.copyOf(bundleConfigMaps);
    }

    public K8sPlugins withPsatClusters(List<PsatClusterConfig> clusters) {
        return new K8sPlugins(clusters, bundleConfigMaps);
    }

    public K8sPlugins withBundleConfigMaps(List<BundleConfigMap> targets) {
        return new K8sPlugins(psatClusters, targets);
    }

    /**
     * One ConfigMap the trust bundle is published to.
     *
     * @param plugin the HCL name that configured it ({@code k8s_configmap} or {@code k8sbundle})
     * @param namespace the ConfigMap's namespace
     * @param name the ConfigMap's name
     * @param key the data key the bundle is written under
     * @param kubeConfigFile the kubeconfig, or null for in-cluster credentials
     * @param format {@code pem} (the only format written here; SPIRE also has {@code spiffe} and
     *     {@code jwks})
     */
    public record BundleConfigMap(
            String plugin,
            String namespace,
            String name,
            String key,
            Path kubeConfigFile,
            String format) {
        public BundleConfigMap {
            Objects.requireNonNull(namespace, "namespace");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(format, "format");
        }
    }
}
