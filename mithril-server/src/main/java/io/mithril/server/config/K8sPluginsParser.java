package io.mithril.server.config;

import io.mithril.hcl.HclEntry;
import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import io.mithril.k8s.psat.PsatClusterConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the {@code plugin_data} of the server's Kubernetes plugins with SPIRE's keys: {@code
 * NodeAttestor "k8s_psat"}, {@code BundlePublisher "k8s_configmap"} and the older {@code Notifier
 * "k8sbundle"}.
 */
final class K8sPluginsParser {

    private static final Logger log = LoggerFactory.getLogger(K8sPluginsParser.class);

    static final Set<String> PSAT_CLUSTER_KEYS =
            Set.of(
                    "service_account_allow_list",
                    "audience",
                    "kube_config_file",
                    "allowed_node_label_keys",
                    "allowed_pod_label_keys",
                    "use_pod_uid_for_agent_id");

    private K8sPluginsParser() {}

    /** {@code clusters = { "name" = { service_account_allow_list = [..], ... } }}. */
    static List<PsatClusterConfig> psat(HclObject data, String what) throws HclException {
        List<PsatClusterConfig> out = new ArrayList<>();
        for (HclEntry e : clusters(data, what, "PSAT attestation is effectively disabled")) {
            HclObject c = (HclObject) e.value();
            String where = what + " cluster \"" + e.key() + "\"";
            c.requireOnly(PSAT_CLUSTER_KEYS, where);
            if (!e.key().matches("[A-Za-z0-9._-]+")) {
                throw new HclException(
                        e.position(),
                        where
                                + ": the cluster name becomes a path segment of agent IDs; "
                                + "use letters, digits, '.', '_' and '-'");
            }
            try {
                out.add(
                        new PsatClusterConfig(
                                e.key(),
                                c.strings("service_account_allow_list"),
                                c.has("audience") ? c.strings("audience") : null,
                                c.string("kube_config_file")
                                        .filter(s -> !s.isEmpty())
                                        .map(Path::of)
                                        .orElse(null),
                                c.strings("allowed_node_label_keys"),
                                c.strings("allowed_pod_label_keys"),
                                c.bool("use_pod_uid_for_agent_id", false)));
            } catch (IllegalArgumentException ex) {
                throw new HclException(e.position(), what + ": " + ex.getMessage());
            }
        }
        return out;
    }

    /** The entries of {@code clusters = { "name" = { .. } }}, each an object, names distinct. */
    private static List<HclEntry> clusters(HclObject data, String what, String whenEmpty)
            throws HclException {
        data.requireOnly(Set.of("clusters"), what);
        Optional<HclObject> clusters = data.object("clusters");
        if (clusters.isEmpty() || clusters.get().entries().isEmpty()) {
            log.warn("{}: no clusters configured, {}", what, whenEmpty);
            return List.of();
        }
        Set<String> seen = new java.util.HashSet<>();
        for (HclEntry e : clusters.get().entries()) {
            String where = what + " cluster \"" + e.key() + "\"";
            if (!(e.value() instanceof HclObject)) {
                throw new HclException(
                        e.position(), where + " must be an object { key = value ... }");
            }
            if (!seen.add(e.key())) {
                throw new HclException(e.position(), where + " is configured twice");
            }
        }
        return clusters.get().entries();
    }

    /**
     * {@code BundlePublisher "k8s_configmap"}: {@code clusters = { "name" = { configmap_name,
     * configmap_key, namespace, kubeconfig_path, format, refresh_hint } }}.
     */
    static List<K8sPlugins.BundleConfigMap> configMapPublisher(HclObject data, String what)
            throws HclException {
        List<K8sPlugins.BundleConfigMap> out = new ArrayList<>();
        for (HclEntry e : clusters(data, what, "the bundle is not published")) {
            HclObject c = (HclObject) e.value();
            String where = what + " cluster \"" + e.key() + "\"";
            c.requireOnly(
                    Set.of(
                            "configmap_name",
                            "configmap_key",
                            "namespace",
                            "kubeconfig_path",
                            "format",
                            "refresh_hint"),
                    where);
            String format = c.requiredString("format", where, "format = \"pem\"");
            if (!format.equals("pem")) {
                throw new HclException(
                        c.position("format"),
                        where
                                + ": format \""
                                + format
                                + "\" is not supported here; use \"pem\" (spiffe and jwks are not written by Mithril yet)");
            }
            out.add(
                    new K8sPlugins.BundleConfigMap(
                            "k8s_configmap",
                            c.requiredString("namespace", where, "namespace = \"spire\""),
                            c.requiredString(
                                    "configmap_name", where, "configmap_name = \"spire-bundle\""),
                            c.requiredString(
                                    "configmap_key", where, "configmap_key = \"bundle.crt\""),
                            c.string("kubeconfig_path")
                                    .filter(s -> !s.isEmpty())
                                    .map(Path::of)
                                    .orElse(null),
                            format));
        }
        return out;
    }

    /**
     * {@code Notifier "k8sbundle"}: {@code namespace} ({@code spire}), {@code config_map} ({@code
     * spire-bundle}), {@code config_map_key} ({@code bundle.crt}), {@code kube_config_file_path},
     * and {@code clusters = [{ .. }]} with the same keys.
     */
    static List<K8sPlugins.BundleConfigMap> k8sbundleNotifier(HclObject data, String what)
            throws HclException {
        Set<String> keys =
                Set.of(
                        "namespace",
                        "config_map",
                        "config_map_key",
                        "kube_config_file_path",
                        "api_service_label",
                        "webhook_label");
        Set<String> top = new java.util.HashSet<>(keys);
        top.add("clusters");
        data.requireOnly(top, what);
        List<K8sPlugins.BundleConfigMap> out = new ArrayList<>();
        out.add(k8sbundleTarget(data, what));
        for (HclObject c : data.objects("clusters")) {
            c.requireOnly(keys, what + " clusters");
            out.add(k8sbundleTarget(c, what + " clusters"));
        }
        return out;
    }

    private static K8sPlugins.BundleConfigMap k8sbundleTarget(HclObject c, String what)
            throws HclException {
        for (String k : List.of("api_service_label", "webhook_label")) {
            if (c.has(k)) {
                throw new HclException(
                        c.position(k),
                        what
                                + ": "
                                + k
                                + " (rotating CA bundles in webhooks and API services) "
                                + "is not supported; remove it");
            }
        }
        return new K8sPlugins.BundleConfigMap(
                "k8sbundle",
                c.string("namespace", "spire"),
                c.string("config_map", "spire-bundle"),
                c.string("config_map_key", "bundle.crt"),
                c.string("kube_config_file_path")
                        .filter(s -> !s.isEmpty())
                        .map(Path::of)
                        .orElse(null),
                "pem");
    }
}
