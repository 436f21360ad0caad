package io.mithril.server;

import io.mithril.k8s.psat.PsatVerifier;
import io.mithril.server.attestor.K8sPsatAttestor;
import io.mithril.server.config.ServerConfig;

/** Starts the server's Kubernetes plugins from its configuration. */
final class K8sServerPlugins {

    private K8sServerPlugins() {
    }

    static K8sPsatAttestor psatAttestor(ServerConfig config) throws ServerStartException {
        try {
            return new K8sPsatAttestor(config.trustDomain(), PsatVerifier.connect(config.kubernetes().psatClusters()));
        } catch (IllegalArgumentException | io.fabric8.kubernetes.client.KubernetesClientException e) {
            throw new ServerStartException(e.getMessage(), e);
        }
    }
}
