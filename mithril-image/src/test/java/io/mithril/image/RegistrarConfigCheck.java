package io.mithril.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The registrar's configuration (spire-controller-manager's ControllerManagerConfig): only the
 * keys spire-controller-manager documents, the kind and group it reads, and the values the rest
 * of the manifests depend on. (The registrar's own reader is not on this branch yet; when it is,
 * it takes this check's place.)
 */
final class RegistrarConfigCheck {

    static final Set<String> KEYS = Set.of("apiVersion", "kind", "metadata", "metrics", "health", "leaderElection",
            "webhook", "clusterName", "clusterDomain", "trustDomain", "ignoreNamespaces", "validatingWebhookConfigurationName",
            "gcInterval", "spireServerSocketPath", "logLevel", "entryIDPrefix", "watchClassless", "className",
            "parentIDTemplate", "staticManifestPath", "reconcile");

    private RegistrarConfigCheck() {
    }

    static JsonNode parse(String yaml, String where) throws Exception {
        JsonNode doc = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        List<String> unknown = new ArrayList<>();
        doc.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) {
                unknown.add(k);
            }
        });
        assertThat(unknown).as(where + ": keys spire-controller-manager does not know").isEmpty();
        assertThat(doc.path("apiVersion").asText()).as(where).isEqualTo("spire.spiffe.io/v1alpha1");
        assertThat(doc.path("kind").asText()).as(where).isEqualTo("ControllerManagerConfig");
        assertThat(doc.path("trustDomain").asText()).as(where).isEqualTo("example.org");
        assertThat(doc.path("clusterName").asText()).as(where).matches("cluster[12]");
        assertThat(doc.path("spireServerSocketPath").asText()).as(where).isEqualTo("/tmp/spire-server/private/api.sock");
        return doc;
    }
}
