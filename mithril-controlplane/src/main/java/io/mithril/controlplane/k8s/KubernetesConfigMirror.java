package io.mithril.controlplane.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Feeds the control plane from the Kubernetes API: watches Istio's resources ({@code
 * networking.istio.io/v1} Gateway, VirtualService, DestinationRule, ServiceEntry, WorkloadEntry;
 * {@code security.istio.io/v1} PeerAuthentication, AuthorizationPolicy) and keeps one file per
 * object ({@code k8s-<kind>-<namespace>-<name>.yaml}, its apiVersion, kind, name, namespace,
 * labels, annotations and spec) in the directory the control plane's {@code ConfigWatcher} watches.
 * The watcher then validates, serves, or rejects the set and keeps the last good one, exactly as
 * for files written by hand: a bad object is reported by the watcher's log lines and the control
 * plane's status, naming its file (so kind, namespace and name). Files without the {@code k8s-}
 * prefix are left alone.
 *
 * <p>Given a trust domain, it also does what istiod does with the cluster's own services: every
 * {@code v1} Service (except {@code ExternalName} ones) becomes a {@code ServiceEntry} ({@code
 * k8s-service-<namespace>_<name>.yaml}, named {@code k8s-svc-<name>} in its namespace, so a user's
 * ServiceEntry named like the Service is no duplicate) for the host {@code
 * <name>.<namespace>.svc.<cluster domain>}, its cluster IP, its TCP ports (protocol from {@code
 * appProtocol}, else from the port name's prefix, as Istio does; otherwise TCP), with {@code
 * resolution: STATIC} and one endpoint per ready address of the Service's {@code
 * discovery.k8s.io/v1} EndpointSlices (label {@code kubernetes.io/service-name}), each with the
 * service account of the pod it belongs to, so the peer's SPIFFE ID is {@code
 * spiffe://<td>/ns/<namespace>/sa/<service account>}.
 *
 * <p>Every resource is watched with a fabric8 informer ({@link SharedIndexInformer}); a sync reads
 * the informers' stores, never the API server, so an event costs one pass over the cached objects.
 *
 * <p>This is the hook: it needs no change in the control plane itself.
 */
public final class KubernetesConfigMirror implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KubernetesConfigMirror.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PREFIX = "k8s-";

    /** The Istio resources read, with the version Istio serves as storage version. */
    public static final List<ResourceDefinitionContext> RESOURCES =
            List.of(
                    ctx("networking.istio.io", "Gateway", "gateways"),
                    ctx("networking.istio.io", "VirtualService", "virtualservices"),
                    ctx("networking.istio.io", "DestinationRule", "destinationrules"),
                    ctx("networking.istio.io", "ServiceEntry", "serviceentries"),
                    ctx("networking.istio.io", "WorkloadEntry", "workloadentries"),
                    ctx("security.istio.io", "PeerAuthentication", "peerauthentications"),
                    ctx("security.istio.io", "AuthorizationPolicy", "authorizationpolicies"));

    private static ResourceDefinitionContext ctx(String group, String kind, String plural) {
        return new ResourceDefinitionContext.Builder()
                .withGroup(group)
                .withVersion("v1")
                .withKind(kind)
                .withPlural(plural)
                .withNamespaced(true)
                .build();
    }

    private final Path dir;
    private final String trustDomain;
    private final String clusterDomain;
    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "k8s-config-mirror");
                        t.setDaemon(true);
                        return t;
                    });
    private final AtomicBoolean pending = new AtomicBoolean();
    private final Map<ResourceDefinitionContext, SharedIndexInformer<GenericKubernetesResource>>
            istio = new LinkedHashMap<>();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private SharedIndexInformer<Service> services;
    private SharedIndexInformer<EndpointSlice> endpointSlices;
    private SharedIndexInformer<Pod> pods;

    private KubernetesConfigMirror(Path dir, String trustDomain, String clusterDomain) {
        this.dir = dir;
        this.trustDomain = trustDomain;
        this.clusterDomain = clusterDomain;
    }

    /**
     * Mirrors the cluster's Istio resources into {@code dir} now, then on every change and every 30
     * s.
     */
    public static KubernetesConfigMirror start(KubernetesClient client, Path dir)
            throws IOException {
        return start(client, dir, null, null);
    }

    /**
     * Mirrors the cluster's Istio resources, and (with a trust domain) its Services and
     * EndpointSlices as ServiceEntries, into {@code dir}: once each informer has its initial list,
     * then on every change and every 30 s.
     *
     * @param trustDomain the mesh's trust domain, or null to mirror Istio's resources only
     * @param clusterDomain the cluster's DNS domain ({@code cluster.local})
     */
    public static KubernetesConfigMirror start(
            KubernetesClient client, Path dir, String trustDomain, String clusterDomain)
            throws IOException {
        Files.createDirectories(dir);
        KubernetesConfigMirror m =
                new KubernetesConfigMirror(
                        dir, trustDomain, clusterDomain == null ? "cluster.local" : clusterDomain);
        ResourceEventHandler<HasMetadata> trigger =
                new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(HasMetadata obj) {
                        m.schedule();
                    }

                    @Override
                    public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                        m.schedule();
                    }

                    @Override
                    public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                        m.schedule();
                    }
                };
        try {
            for (ResourceDefinitionContext r : RESOURCES) {
                SharedIndexInformer<GenericKubernetesResource> i =
                        client.genericKubernetesResources(r).inAnyNamespace().inform(cast(trigger));
                m.istio.put(r, i);
                m.informers.add(i);
            }
            if (trustDomain != null) {
                m.services = client.services().inAnyNamespace().inform(cast(trigger));
                m.endpointSlices =
                        client.discovery()
                                .v1()
                                .endpointSlices()
                                .inAnyNamespace()
                                .inform(cast(trigger));
                m.pods = client.pods().inAnyNamespace().inform(cast(trigger));
                m.informers.addAll(List.of(m.services, m.endpointSlices, m.pods));
            }
            m.sync();
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        m.executor.scheduleWithFixedDelay(m::syncLogged, 30, 30, TimeUnit.SECONDS);
        return m;
    }

    @SuppressWarnings("unchecked")
    private static <T extends HasMetadata> ResourceEventHandler<T> cast(
            ResourceEventHandler<HasMetadata> h) {
        return (ResourceEventHandler<T>) (ResourceEventHandler<?>) h;
    }

    private void schedule() {
        if (pending.compareAndSet(false, true)) {
            executor.schedule(
                    () -> {
                        pending.set(false);
                        syncLogged();
                    },
                    100,
                    TimeUnit.MILLISECONDS);
        }
    }

    private void syncLogged() {
        try {
            sync();
        } catch (IOException | KubernetesClientException e) {
            log.warn(
                    "Istio resources not mirrored from the Kubernetes API (will retry): {}",
                    e.getMessage());
        }
    }

    /** Makes the directory's {@code k8s-*} files what the informers' stores hold. */
    synchronized void sync() throws IOException {
        Map<String, String> want = new HashMap<>();
        for (Map.Entry<ResourceDefinitionContext, SharedIndexInformer<GenericKubernetesResource>>
                r : istio.entrySet()) {
            for (GenericKubernetesResource o : r.getValue().getStore().list()) {
                String file = fileName(r.getKey().getKind(), o);
                if (want.put(file, document(o)) != null) {
                    throw new IOException(
                            "two "
                                    + r.getKey().getKind()
                                    + " objects map to "
                                    + file
                                    + "; not mirroring either set");
                }
            }
        }
        if (services != null) {
            for (Service svc : services.getStore().list()) {
                ObjectNode se =
                        ServiceEntries.of(
                                svc, endpointSlices.getStore().list(), pods, clusterDomain);
                if (se != null) {
                    want.put(
                            PREFIX
                                    + "service-"
                                    + safe(svc.getMetadata().getNamespace())
                                    + "_"
                                    + safe(svc.getMetadata().getName())
                                    + ".yaml",
                            JSON.writerWithDefaultPrettyPrinter().writeValueAsString(se) + "\n");
                }
            }
        }
        for (Map.Entry<String, String> e : want.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (Files.exists(f)
                    && Files.readString(f, StandardCharsets.UTF_8).equals(e.getValue())) {
                continue;
            }
            Path tmp = Files.createTempFile(dir, ".k8s-", ".tmp");
            Files.writeString(tmp, e.getValue(), StandardCharsets.UTF_8);
            Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            log.info("Istio resource from the Kubernetes API written to {}", f.getFileName());
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f :
                    files.filter(
                                    p ->
                                            p.getFileName().toString().startsWith(PREFIX)
                                                    && p.getFileName().toString().endsWith(".yaml"))
                            .toList()) {
                if (!want.containsKey(f.getFileName().toString())) {
                    Files.deleteIfExists(f);
                    log.info(
                            "Istio resource deleted from the Kubernetes API: removed {}",
                            f.getFileName());
                }
            }
        }
    }

    /**
     * {@code k8s-<kind>-<namespace>_<name>.yaml}: Kubernetes names and namespaces never contain
     * {@code _}, so two objects never share a file (with {@code -} between them, namespace {@code
     * prod} name {@code x-deny} and namespace {@code prod-x} name {@code deny} would, and one
     * namespace could replace another's policy).
     */
    static String fileName(String kind, GenericKubernetesResource o) {
        String ns =
                o.getMetadata().getNamespace() == null ? "default" : o.getMetadata().getNamespace();
        return PREFIX
                + kind.toLowerCase()
                + "-"
                + safe(ns)
                + "_"
                + safe(o.getMetadata().getName())
                + ".yaml";
    }

    private static String safe(String name) {
        return name.replaceAll("[^A-Za-z0-9.-]", "-");
    }

    /** The object as an Istio YAML document (JSON is YAML): what a user would have written. */
    static String document(GenericKubernetesResource o) throws IOException {
        JsonNode full = JSON.readTree(Serialization.asJson(o));
        ObjectNode out = JSON.createObjectNode();
        out.put("apiVersion", full.path("apiVersion").asText());
        out.put("kind", full.path("kind").asText());
        ObjectNode md = out.putObject("metadata");
        md.put("name", o.getMetadata().getName());
        md.put(
                "namespace",
                o.getMetadata().getNamespace() == null
                        ? "default"
                        : o.getMetadata().getNamespace());
        for (String k : List.of("labels", "annotations")) {
            JsonNode v = full.path("metadata").path(k);
            if (v.isObject() && !v.isEmpty()) {
                md.set(k, v);
            }
        }
        if (full.has("spec")) {
            out.set("spec", full.get("spec"));
        }
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(out) + "\n";
    }

    @Override
    public void close() {
        informers.forEach(SharedIndexInformer::close);
        executor.shutdownNow();
    }
}
