package io.mithril.server.registrar;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mithril.api.admin.AdminServiceGrpc;
import io.mithril.api.admin.BatchCreateEntryRequest;
import io.mithril.api.admin.BatchCreateEntryResponse;
import io.mithril.api.admin.BatchDeleteEntryRequest;
import io.mithril.api.admin.BatchUpdateEntryRequest;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Entry;
import io.mithril.server.api.ProtoConverters;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registrar for pods, as SPIRE Controller Manager's workload reconciliation: for every {@code
 * ClusterSPIFFEID} and every scheduled, not finished pod its {@code namespaceSelector} and {@code
 * podSelector} match, one registration entry with the rendered {@code spiffeIDTemplate}, parented
 * to the agent of the pod's node ({@code spiffe://<td>/spire/agent/k8s_psat/<cluster>/<node UID>}),
 * with selectors {@code k8s:ns:<ns>} and {@code k8s:pod-uid:<uid>} (plus the rendered {@code
 * workloadSelectorTemplates}), DNS names from {@code dnsNameTemplates}, {@code ttl}, {@code
 * jwtTtl}, {@code federatesWith}, {@code hint}, {@code admin}, {@code downstream}.
 *
 * <p>With {@code use_pod_uid_for_agent_id} on the server's {@code k8s_psat} cluster, an agent's ID
 * ends with its own pod's UID, which changes whenever the agent's pod is replaced; the registrar
 * then does what SPIRE's k8s-workload-registrar did for that case: one node alias entry per node,
 * {@code spiffe://<td>/k8s-workload-registrar/<cluster>/node/<node name>}, parented to the server
 * ({@code spiffe://<td>/spire/server}) with the node selectors {@code k8s_psat:cluster:<cluster>}
 * and {@code k8s_psat:agent_node_uid:<node UID>} (so whichever agent attests on that node holds
 * it), and the node's pods' entries parented to that alias.
 *
 * <p>{@code ClusterStaticEntry} objects (spire-controller-manager's kind for entries written out in
 * full: {@code spiffeID}, {@code parentID}, {@code selectors}, TTLs, DNS names, ...) each give one
 * entry, as long as both IDs are in the trust domain.
 *
 * <p>Entries it makes carry the ID prefix {@code mithril-registrar.<cluster>.}; it creates, updates
 * and deletes only those, so entries made by hand or by another cluster's registrar are never
 * touched. Pods, nodes, namespaces and ClusterSPIFFEIDs are watched with fabric8 informers ({@link
 * SharedIndexInformer}): a reconciliation reads their local stores, never the API server, so a
 * change costs one pass over the cached objects and the admin API's entry list. Any change triggers
 * one (changes within 100 ms are coalesced), and one also runs every {@link #RESYNC}.
 */
public final class Registrar implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Registrar.class);

    /** How often the registrar reconciles without a change being seen. */
    public static final Duration RESYNC = Duration.ofSeconds(30);

    /** The ClusterSPIFFEID resource. */
    public static final ResourceDefinitionContext CLUSTER_SPIFFE_ID =
            new ResourceDefinitionContext.Builder()
                    .withGroup(ClusterSpiffeId.GROUP)
                    .withVersion(ClusterSpiffeId.VERSION)
                    .withKind(ClusterSpiffeId.KIND)
                    .withPlural(ClusterSpiffeId.PLURAL)
                    .withNamespaced(false)
                    .build();

    /** spire-controller-manager's ClusterStaticEntry: entries written out in full. */
    public static final ResourceDefinitionContext CLUSTER_STATIC_ENTRY =
            new ResourceDefinitionContext.Builder()
                    .withGroup(ClusterSpiffeId.GROUP)
                    .withVersion(ClusterSpiffeId.VERSION)
                    .withKind(ClusterStaticEntry.KIND)
                    .withPlural(ClusterStaticEntry.PLURAL)
                    .withNamespaced(false)
                    .build();

    /**
     * @param clusterName the name the agents' {@code k8s_psat} cluster has (their IDs' path
     *     segment)
     * @param clusterDomain the cluster's DNS domain ({@code cluster.local}), for templates
     * @param ignoreNamespaces namespaces whose pods never get entries (SPIRE CM: kube-system,
     *     kube-public, spire-system)
     */
    /**
     * @param usePodUidForAgentId the server's {@code k8s_psat} {@code use_pod_uid_for_agent_id} for
     *     this cluster: parent pods' entries to per-node alias entries instead of agent IDs ending
     *     with the node UID
     */
    public record Settings(
            TrustDomain trustDomain,
            String clusterName,
            String clusterDomain,
            Set<String> ignoreNamespaces,
            boolean usePodUidForAgentId) {
        public static final Set<String> DEFAULT_IGNORE_NAMESPACES =
                Set.of("kube-system", "kube-public", "spire-system");

        public Settings(
                TrustDomain trustDomain,
                String clusterName,
                String clusterDomain,
                Set<String> ignoreNamespaces) {
            this(trustDomain, clusterName, clusterDomain, ignoreNamespaces, false);
        }
    }

    private final KubernetesClient k8s;
    private final AdminServiceGrpc.AdminServiceBlockingStub admin;
    private final Settings settings;
    private final String prefix;
    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "mithril-registrar");
                        t.setDaemon(true);
                        return t;
                    });
    private final AtomicBoolean pending = new AtomicBoolean();
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private volatile SharedIndexInformer<Pod> pods;
    private volatile SharedIndexInformer<Node> nodes;
    private volatile SharedIndexInformer<Namespace> namespaces;
    private volatile SharedIndexInformer<GenericKubernetesResource> clusterSpiffeIds;
    private volatile SharedIndexInformer<GenericKubernetesResource> clusterStaticEntries;

    public Registrar(
            KubernetesClient k8s,
            AdminServiceGrpc.AdminServiceBlockingStub admin,
            Settings settings) {
        this.k8s = k8s;
        this.admin = admin;
        this.settings = settings;
        this.prefix = "mithril-registrar." + settings.clusterName() + ".";
    }

    /** Starts watching (returns once each informer has its initial list) and reconciling. */
    public void start() {
        ResourceEventHandler<HasMetadata> trigger =
                new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(HasMetadata obj) {
                        schedule();
                    }

                    @Override
                    public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                        schedule();
                    }

                    @Override
                    public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                        schedule();
                    }
                };
        pods = k8s.pods().inAnyNamespace().inform(cast(trigger));
        nodes = k8s.nodes().inform(cast(trigger));
        namespaces = k8s.namespaces().inform(cast(trigger));
        clusterSpiffeIds = k8s.genericKubernetesResources(CLUSTER_SPIFFE_ID).inform(cast(trigger));
        clusterStaticEntries =
                k8s.genericKubernetesResources(CLUSTER_STATIC_ENTRY).inform(cast(trigger));
        informers.addAll(List.of(pods, nodes, namespaces, clusterSpiffeIds, clusterStaticEntries));
        executor.scheduleWithFixedDelay(
                this::reconcileLogged, 0, RESYNC.toMillis(), TimeUnit.MILLISECONDS);
        log.info(
                "Registrar started: cluster={} trust_domain={} entry ID prefix {}",
                settings.clusterName(),
                settings.trustDomain().name(),
                prefix);
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
                        reconcileLogged();
                    },
                    100,
                    TimeUnit.MILLISECONDS);
        }
    }

    private void reconcileLogged() {
        try {
            reconcile();
        } catch (KubernetesClientException | io.grpc.StatusRuntimeException e) {
            log.warn("Registrar reconciliation failed (will retry): {}", e.getMessage());
        } catch (RuntimeException e) {
            log.error("Registrar reconciliation failed (will retry)", e);
        }
    }

    /** The outcome of one reconciliation. */
    public record Result(int created, int updated, int deleted, int unchanged) {}

    /**
     * One reconciliation: makes the managed entries what the cluster's objects (as the informers'
     * stores hold them) say.
     *
     * @throws IllegalStateException before {@link #start()}
     */
    public synchronized Result reconcile() {
        if (pods == null) {
            throw new IllegalStateException(
                    "the registrar is not started: its informers hold no objects yet");
        }
        Map<String, RegistrationEntry> desired = desired();
        Map<String, Entry> current = new LinkedHashMap<>();
        for (Entry e :
                admin.listEntries(ListEntriesRequest.getDefaultInstance()).getEntriesList()) {
            if (e.getId().startsWith(prefix)) {
                current.put(e.getId(), e);
            }
        }
        List<Entry> create = new ArrayList<>();
        List<Entry> update = new ArrayList<>();
        int unchanged = 0;
        for (Map.Entry<String, RegistrationEntry> d : desired.entrySet()) {
            Entry want = ProtoConverters.toProto(d.getValue());
            Entry have = current.remove(d.getKey());
            if (have == null) {
                create.add(want);
            } else if (!same(have, want)) {
                update.add(want);
            } else {
                unchanged++;
            }
        }
        if (!create.isEmpty()) {
            BatchCreateEntryResponse r =
                    admin.batchCreateEntry(
                            BatchCreateEntryRequest.newBuilder().addAllEntries(create).build());
            for (int i = 0; i < r.getResultsCount(); i++) {
                var res = r.getResults(i);
                if (res.getStatus().getCode() != 0) {
                    log.warn(
                            "Registrar: entry {} for {} not created: {}",
                            create.get(i).getId(),
                            create.get(i).getSpiffeId(),
                            res.getStatus().getMessage());
                } else {
                    log.info(
                            "Registrar: entry created: entry_id={} spiffe_id={} parent_id={}",
                            create.get(i).getId(),
                            create.get(i).getSpiffeId(),
                            create.get(i).getParentId());
                }
            }
        }
        if (!update.isEmpty()) {
            var r =
                    admin.batchUpdateEntry(
                            BatchUpdateEntryRequest.newBuilder().addAllEntries(update).build());
            for (int i = 0; i < r.getResultsCount(); i++) {
                report("updated", update.get(i), r.getResults(i).getStatus());
            }
        }
        if (!current.isEmpty()) {
            List<Entry> gone = List.copyOf(current.values());
            var r =
                    admin.batchDeleteEntry(
                            BatchDeleteEntryRequest.newBuilder()
                                    .addAllIds(gone.stream().map(Entry::getId).toList())
                                    .build());
            for (int i = 0; i < r.getResultsCount(); i++) {
                report("deleted", gone.get(i), r.getResults(i).getStatus());
            }
        }
        return new Result(create.size(), update.size(), current.size(), unchanged);
    }

    private static void report(String what, Entry e, io.mithril.api.types.Status status) {
        if (status.getCode() != 0) {
            log.warn(
                    "Registrar: entry {} for {} not {}: {}",
                    e.getId(),
                    e.getSpiffeId(),
                    what,
                    status.getMessage());
        } else {
            log.info(
                    "Registrar: entry {}: entry_id={} spiffe_id={}",
                    what,
                    e.getId(),
                    e.getSpiffeId());
        }
    }

    private static boolean same(Entry have, Entry want) {
        return have.getSpiffeId().equals(want.getSpiffeId())
                && have.getParentId().equals(want.getParentId())
                && Set.copyOf(have.getSelectorsList()).equals(Set.copyOf(want.getSelectorsList()))
                && have.getDnsNamesList().equals(want.getDnsNamesList())
                && have.getX509SvidTtl() == want.getX509SvidTtl()
                && have.getJwtSvidTtl() == want.getJwtSvidTtl()
                && Set.copyOf(have.getFederatesWithList())
                        .equals(Set.copyOf(want.getFederatesWithList()))
                && have.getHint().equals(want.getHint())
                && have.getAdmin() == want.getAdmin()
                && have.getDownstream() == want.getDownstream();
    }

    private Map<String, RegistrationEntry> desired() {
        List<ClusterSpiffeId> specs = new ArrayList<>();
        for (GenericKubernetesResource r : clusterSpiffeIds.getStore().list()) {
            try {
                specs.add(ClusterSpiffeId.from(r));
            } catch (IllegalArgumentException e) {
                log.warn("Registrar: {}; it applies to no pod until fixed", e.getMessage());
            }
        }
        Map<String, Map<String, String>> nsLabels = new HashMap<>();
        for (Namespace ns : namespaces.getStore().list()) {
            nsLabels.put(ns.getMetadata().getName(), labels(ns));
        }
        Map<String, Node> nodesByName = new HashMap<>();
        for (Node n : nodes.getStore().list()) {
            nodesByName.put(n.getMetadata().getName(), n);
        }
        Map<String, RegistrationEntry> out = new LinkedHashMap<>();
        for (Pod pod : pods.getStore().list()) {
            String ns = pod.getMetadata().getNamespace();
            String nodeName = pod.getSpec() == null ? null : pod.getSpec().getNodeName();
            String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
            if (settings.ignoreNamespaces().contains(ns)
                    || nodeName == null
                    || nodeName.isEmpty()
                    || "Succeeded".equals(phase)
                    || "Failed".equals(phase)
                    || pod.getMetadata().getDeletionTimestamp() != null) {
                continue;
            }
            Node node = nodesByName.get(nodeName);
            if (node == null || node.getMetadata().getUid() == null) {
                continue; // the node is not known yet: its agent cannot be named
            }
            for (ClusterSpiffeId spec : specs) {
                try {
                    if (!LabelSelectors.matches(
                                    spec.namespaceSelector(), nsLabels.getOrDefault(ns, Map.of()))
                            || !LabelSelectors.matches(spec.podSelector(), labels(pod))) {
                        continue;
                    }
                    RegistrationEntry e = entry(spec, pod, node);
                    out.put(e.id(), e);
                    if (settings.usePodUidForAgentId()) {
                        RegistrationEntry alias = nodeAlias(node);
                        out.putIfAbsent(alias.id(), alias);
                    }
                } catch (IllegalArgumentException e) {
                    log.warn(
                            "Registrar: ClusterSPIFFEID {} and pod {}/{}: {}",
                            spec.name(),
                            ns,
                            pod.getMetadata().getName(),
                            e.getMessage());
                }
            }
        }
        for (GenericKubernetesResource r : clusterStaticEntries.getStore().list()) {
            try {
                RegistrationEntry e = staticEntry(ClusterStaticEntry.from(r));
                out.put(e.id(), e);
            } catch (IllegalArgumentException e) {
                log.warn("Registrar: {}; no entry is made for it until fixed", e.getMessage());
            }
        }
        return out;
    }

    /**
     * A ClusterStaticEntry's entry, as spire-controller-manager makes it: in the trust domain, or
     * none.
     */
    private RegistrationEntry staticEntry(ClusterStaticEntry s) {
        for (SpiffeId id : List.of(s.spiffeId(), s.parentId())) {
            if (!id.trustDomain().equals(settings.trustDomain())) {
                throw new IllegalArgumentException(
                        ClusterStaticEntry.KIND
                                + " "
                                + s.name()
                                + ": "
                                + id
                                + " is not in trust domain "
                                + settings.trustDomain().name());
            }
        }
        return new RegistrationEntry(
                prefix + "static." + digest(ClusterStaticEntry.KIND + "/" + s.name()),
                s.spiffeId(),
                s.parentId(),
                s.selectors(),
                (int) s.x509SvidTtl().toSeconds(),
                (int) s.jwtSvidTtl().toSeconds(),
                s.dnsNames(),
                s.federatesWith(),
                s.admin(),
                s.downstream(),
                s.hint(),
                0,
                0,
                0);
    }

    private RegistrationEntry entry(ClusterSpiffeId spec, Pod pod, Node node) {
        Map<String, Object> data = new HashMap<>();
        data.put("TrustDomain", settings.trustDomain().name());
        data.put("ClusterName", settings.clusterName());
        data.put("ClusterDomain", settings.clusterDomain());
        data.put("PodMeta", json(pod.getMetadata()));
        data.put("PodSpec", json(pod.getSpec()));
        data.put("NodeMeta", json(node.getMetadata()));
        data.put("NodeSpec", json(node.getSpec()));
        SpiffeId id = SpiffeId.parse(GoTemplate.render(spec.spiffeIdTemplate(), data));
        if (!id.trustDomain().equals(settings.trustDomain())) {
            throw new IllegalArgumentException(
                    "SPIFFE ID " + id + " is not in trust domain " + settings.trustDomain().name());
        }
        SpiffeId parent =
                settings.usePodUidForAgentId()
                        ? nodeAliasId(node)
                        : settings.trustDomain()
                                .spiffeId(
                                        "/spire/agent/k8s_psat/"
                                                + settings.clusterName()
                                                + "/"
                                                + node.getMetadata().getUid());
        List<Selector> selectors =
                new ArrayList<>(
                        List.of(
                                new Selector("k8s", "ns:" + pod.getMetadata().getNamespace()),
                                new Selector("k8s", "pod-uid:" + pod.getMetadata().getUid())));
        for (String t : spec.workloadSelectorTemplates()) {
            selectors.add(Selector.parse(GoTemplate.render(t, data)));
        }
        List<String> dns = new ArrayList<>();
        for (String t : spec.dnsNameTemplates()) {
            String name = GoTemplate.render(t, data);
            if (!dns.contains(name)) {
                dns.add(name);
            }
        }
        return new RegistrationEntry(
                prefix + digest(spec.name() + "/" + pod.getMetadata().getUid()),
                id,
                parent,
                selectors,
                (int) spec.ttl().toSeconds(),
                (int) spec.jwtTtl().toSeconds(),
                dns,
                spec.federatesWith(),
                spec.admin(),
                spec.downstream(),
                spec.hint(),
                0,
                0,
                0);
    }

    /**
     * k8s-workload-registrar's node ID: {@code
     * spiffe://<td>/k8s-workload-registrar/<cluster>/node/<node name>}.
     */
    private SpiffeId nodeAliasId(Node node) {
        return settings.trustDomain()
                .spiffeId(
                        "/k8s-workload-registrar/"
                                + settings.clusterName()
                                + "/node/"
                                + node.getMetadata().getName());
    }

    /**
     * The node alias: held by whichever agent of this cluster attests on this node (by its UID).
     */
    private RegistrationEntry nodeAlias(Node node) {
        return new RegistrationEntry(
                prefix + "node." + digest("node/" + node.getMetadata().getUid()),
                nodeAliasId(node),
                settings.trustDomain().spiffeId("/spire/server"),
                List.of(
                        new Selector("k8s_psat", "cluster:" + settings.clusterName()),
                        new Selector("k8s_psat", "agent_node_uid:" + node.getMetadata().getUid())),
                0,
                0,
                List.of(),
                List.of(),
                false,
                false,
                "",
                0,
                0,
                0);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> json(Object o) {
        return o == null ? Map.of() : Serialization.unmarshal(Serialization.asJson(o), Map.class);
    }

    private static Map<String, String> labels(HasMetadata o) {
        return o.getMetadata().getLabels() == null ? Map.of() : o.getMetadata().getLabels();
    }

    private static String digest(String s) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(s.getBytes(StandardCharsets.UTF_8)))
                    .substring(0, 32);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        for (SharedIndexInformer<?> i : informers) {
            i.close();
        }
        executor.shutdownNow();
    }
}
