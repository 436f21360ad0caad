package io.mithril.k8s.bundle;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.mithril.k8s.KubeClients;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes the server's trust bundle (PEM) into ConfigMaps, as SPIRE's {@code BundlePublisher
 * "k8s_configmap"} (creates the ConfigMap when missing) and {@code Notifier "k8sbundle"} (updates
 * an existing ConfigMap) do. {@link #publish} returns at once: a single thread writes the latest
 * bundle to every target, and a target that fails (API server down, ConfigMap missing, no
 * permission) is tried again every {@link #RETRY_INTERVAL} until it takes the latest bundle.
 */
public final class ConfigMapBundlePublisher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ConfigMapBundlePublisher.class);

    /** How often a failed target is tried again. */
    public static final Duration RETRY_INTERVAL = Duration.ofSeconds(5);

    /**
     * One ConfigMap.
     *
     * @param plugin the HCL name that configured it ({@code k8s_configmap} or {@code k8sbundle})
     * @param createIfMissing create the ConfigMap when it does not exist ({@code k8s_configmap})
     */
    public record Target(
            String plugin,
            String namespace,
            String name,
            String key,
            Path kubeConfigFile,
            boolean createIfMissing) {
        @Override
        public String toString() {
            return plugin + " ConfigMap " + namespace + "/" + name + " key " + key;
        }
    }

    private final Map<Target, KubernetesClient> clients = new LinkedHashMap<>();
    private final Map<Target, String> published = new HashMap<>();
    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "k8s-bundle-publisher");
                        t.setDaemon(true);
                        return t;
                    });
    private String latest;
    private ScheduledFuture<?> retry;

    public ConfigMapBundlePublisher(
            List<Target> targets, Function<Target, KubernetesClient> clientFactory) {
        Map<Path, KubernetesClient> byFile = new HashMap<>();
        for (Target t : targets) {
            // one client per kubeconfig (in-cluster: the null key)
            clients.put(t, byFile.computeIfAbsent(t.kubeConfigFile(), f -> clientFactory.apply(t)));
        }
    }

    /** Clients from each target's kubeconfig, or the in-cluster configuration. */
    public static ConfigMapBundlePublisher connect(List<Target> targets) {
        return new ConfigMapBundlePublisher(
                targets, t -> KubeClients.create(t.kubeConfigFile(), t.plugin()));
    }

    /**
     * Publishes this bundle (PEM) to every target, in the background; a later call supersedes it.
     */
    public void publish(String pem) {
        if (executor.isShutdown()) {
            return;
        }
        executor.execute(
                () -> {
                    latest = pem;
                    writeAll();
                });
    }

    private void writeAll() {
        List<Target> failed = new ArrayList<>();
        for (Map.Entry<Target, KubernetesClient> e : clients.entrySet()) {
            Target t = e.getKey();
            if (latest.equals(published.get(t))) {
                continue;
            }
            try {
                write(e.getValue(), t, latest);
                published.put(t, latest);
                log.info("Trust bundle published: {}", t);
            } catch (KubernetesClientException | IllegalStateException ex) {
                failed.add(t);
                log.warn(
                        "Trust bundle not published to {}: {}; retrying in {}s",
                        t,
                        ex.getMessage(),
                        RETRY_INTERVAL.toSeconds());
            }
        }
        if (retry != null) {
            retry.cancel(false);
            retry = null;
        }
        if (!failed.isEmpty()) {
            retry =
                    executor.schedule(
                            this::writeAll, RETRY_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private static void write(KubernetesClient client, Target t, String pem) {
        var resource = client.configMaps().inNamespace(t.namespace()).withName(t.name());
        ConfigMap current = resource.get();
        if (current == null) {
            if (!t.createIfMissing()) {
                throw new IllegalStateException(
                        "ConfigMap "
                                + t.namespace()
                                + "/"
                                + t.name()
                                + " does not exist (Notifier \"k8sbundle\" updates an existing ConfigMap: create it)");
            }
            client.configMaps()
                    .inNamespace(t.namespace())
                    .resource(
                            new ConfigMapBuilder()
                                    .withNewMetadata()
                                    .withNamespace(t.namespace())
                                    .withName(t.name())
                                    .endMetadata()
                                    .addToData(t.key(), pem)
                                    .build())
                    .create();
            return;
        }
        if (current.getData() != null && pem.equals(current.getData().get(t.key()))) {
            return;
        }
        resource.edit(cm -> new ConfigMapBuilder(cm).addToData(t.key(), pem).build());
    }

    @Override
    public void close() {
        executor.shutdownNow();
        for (KubernetesClient c : new java.util.HashSet<>(clients.values())) {
            c.close();
        }
    }
}
