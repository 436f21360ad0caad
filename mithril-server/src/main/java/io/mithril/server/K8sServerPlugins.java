package io.mithril.server;

import io.mithril.k8s.bundle.ConfigMapBundlePublisher;
import io.mithril.k8s.psat.PsatVerifier;
import io.mithril.server.attestor.K8sPsatAttestor;
import io.mithril.server.ca.CaManager;
import io.mithril.server.config.K8sPlugins;
import io.mithril.server.config.ServerConfig;

/** Starts the server's Kubernetes plugins from its configuration. */
final class K8sServerPlugins {

    private K8sServerPlugins() {}

    static K8sPsatAttestor psatAttestor(ServerConfig config) throws ServerStartException {
        try {
            return new K8sPsatAttestor(
                    config.trustDomain(), PsatVerifier.connect(config.kubernetes().psatClusters()));
        } catch (IllegalArgumentException
                | io.fabric8.kubernetes.client.KubernetesClientException e) {
            throw new ServerStartException(e.getMessage(), e);
        }
    }

    /**
     * Publishes the bundle to the configured ConfigMaps now and on every change, or returns null
     * when none is configured.
     */
    static ConfigMapBundlePublisher bundlePublisher(ServerConfig config, CaManager ca)
            throws ServerStartException {
        if (config.kubernetes().bundleConfigMaps().isEmpty()) {
            return null;
        }
        ConfigMapBundlePublisher publisher;
        try {
            publisher =
                    ConfigMapBundlePublisher.connect(
                            config.kubernetes().bundleConfigMaps().stream()
                                    .map(K8sServerPlugins::target)
                                    .toList());
        } catch (IllegalArgumentException
                | io.fabric8.kubernetes.client.KubernetesClientException e) {
            throw new ServerStartException(e.getMessage(), e);
        }
        ca.onBundleChange(b -> publisher.publish(b.toPem()));
        publisher.publish(ca.bundle().toPem());
        return publisher;
    }

    private static ConfigMapBundlePublisher.Target target(K8sPlugins.BundleConfigMap m) {
        return new ConfigMapBundlePublisher.Target(
                m.plugin(),
                m.namespace(),
                m.name(),
                m.key(),
                m.kubeConfigFile(),
                m.plugin().equals("k8s_configmap"));
    }
}
