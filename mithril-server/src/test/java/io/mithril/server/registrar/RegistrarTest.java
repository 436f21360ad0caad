package io.mithril.server.registrar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.mithril.api.admin.ListEntriesRequest;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Bundle;
import io.mithril.api.types.Entry;
import io.mithril.k8s.testing.MockKubernetes;
import io.mithril.server.IdentityServer;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.server.testing.ServerFixture;
import io.mithril.spiffe.id.SpiffeId;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registrar against fabric8's mock API server (CRUD, watches) and a real identity server
 * through its admin API: entries follow pods, and entries it did not make are never touched.
 */
class RegistrarTest {

    static final String CLUSTER_SPIFFE_ID =
            """
            apiVersion: spire.spiffe.io/v1alpha1
            kind: ClusterSPIFFEID
            metadata:
              name: sleep
            spec:
              spiffeIDTemplate: "spiffe://{{ .TrustDomain }}/ns/{{ .PodMeta.Namespace }}/sa/{{ .PodSpec.ServiceAccountName }}"
              podSelector:
                matchLabels:
                  app: sleep
              namespaceSelector:
                matchExpressions:
                - key: kubernetes.io/metadata.name
                  operator: NotIn
                  values: ["istio-system"]
              dnsNameTemplates:
              - "{{ .PodMeta.Name }}.{{ .PodMeta.Namespace }}.svc.{{ .ClusterDomain }}"
              workloadSelectorTemplates:
              - "k8s:sa:{{ .PodSpec.ServiceAccountName }}"
              ttl: 1h
              federatesWith: ["domain.test"]
            """;

    @TempDir Path dir;
    MockKubernetes k8s;
    IdentityServer server;
    AdminClient adminClient;
    Registrar registrar;
    String nodeUid;

    @BeforeEach
    void start() throws Exception {
        k8s = new MockKubernetes();
        k8s.serveCustomResource(
                "spire.spiffe.io", "v1alpha1", "ClusterSPIFFEID", "clusterspiffeids", false);
        k8s.serveCustomResource(
                "spire.spiffe.io", "v1alpha1", "ClusterStaticEntry", "clusterstaticentries", false);
        for (String ns : List.of("default", "istio-system", "kube-system")) {
            k8s.client()
                    .namespaces()
                    .resource(
                            new NamespaceBuilder()
                                    .withNewMetadata()
                                    .withName(ns)
                                    .addToLabels("kubernetes.io/metadata.name", ns)
                                    .endMetadata()
                                    .build())
                    .create();
        }
        nodeUid = k8s.addNode("node-1", Map.of());
        server = IdentityServer.start(ServerFixture.config(dir, Clock.systemUTC()).build());
        // The ClusterSPIFFEID federates with domain.test: the server only accepts such entries once
        // it holds that bundle.
        server.dataStore()
                .setBundle(
                        Bundle.newBuilder()
                                .setTrustDomain("domain.test")
                                .setSequenceNumber(1)
                                .build());
        adminClient = AdminClient.connect(server.adminSocketPath());
        registrar =
                new Registrar(
                        k8s.client(),
                        adminClient.admin(),
                        new Registrar.Settings(
                                ServerFixture.TD,
                                "demo-cluster",
                                "cluster.local",
                                Registrar.Settings.DEFAULT_IGNORE_NAMESPACES));
    }

    @AfterEach
    void stop() {
        registrar.close();
        adminClient.close();
        server.close();
        k8s.close();
    }

    private String pod(String ns, String name, String sa, String app, String node) {
        return k8s.client()
                .pods()
                .inNamespace(ns)
                .resource(
                        new PodBuilder()
                                .withNewMetadata()
                                .withNamespace(ns)
                                .withName(name)
                                .addToLabels("app", app)
                                .endMetadata()
                                .withNewSpec()
                                .withServiceAccountName(sa)
                                .withNodeName(node)
                                .addNewContainer()
                                .withName(app)
                                .withImage("curlimages/curl")
                                .endContainer()
                                .endSpec()
                                .build())
                .create()
                .getMetadata()
                .getUid();
    }

    private List<Entry> managed() {
        return adminClient
                .admin()
                .listEntries(ListEntriesRequest.getDefaultInstance())
                .getEntriesList()
                .stream()
                .filter(e -> e.getId().startsWith("mithril-registrar.demo-cluster."))
                .toList();
    }

    @Test
    void oneEntryPerMatchingPodFollowsThePodAndForeignEntriesAreNeverTouched() throws Exception {
        RegistrationEntry manual =
                server.createEntry(
                        RegistrationEntry.of(
                                SpiffeId.parse("spiffe://example.org/ns/default/sa/sleep"),
                                SpiffeId.parse(
                                        "spiffe://example.org/spire/agent/k8s_psat/demo-cluster/"
                                                + nodeUid),
                                List.of(
                                        Selector.parse("k8s:ns:default"),
                                        Selector.parse("k8s:sa:sleep"))));
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_SPIFFE_ID)
                .resource(
                        Serialization.unmarshal(CLUSTER_SPIFFE_ID, GenericKubernetesResource.class))
                .create();
        registrar.start();

        String uid = pod("default", "sleep-1", "sleep", "sleep", "node-1");
        pod(
                "default",
                "productpage-1",
                "bookinfo-productpage",
                "productpage",
                "node-1"); // podSelector does not match
        pod("istio-system", "sleep-2", "sleep", "sleep", "node-1"); // namespaceSelector excludes it
        pod("kube-system", "sleep-3", "sleep", "sleep", "node-1"); // ignored namespace
        pod("default", "sleep-pending", "sleep", "sleep", null); // not scheduled: no agent yet

        await().atMost(Duration.ofSeconds(30)).until(() -> managed().size() == 1);
        Entry e = managed().get(0);
        assertThat(e.getSpiffeId()).isEqualTo("spiffe://example.org/ns/default/sa/sleep");
        assertThat(e.getParentId())
                .isEqualTo("spiffe://example.org/spire/agent/k8s_psat/demo-cluster/" + nodeUid);
        assertThat(e.getSelectorsList())
                .extracting(s -> s.getType() + ":" + s.getValue())
                .containsExactlyInAnyOrder("k8s:ns:default", "k8s:pod-uid:" + uid, "k8s:sa:sleep");
        assertThat(e.getDnsNamesList()).containsExactly("sleep-1.default.svc.cluster.local");
        assertThat(e.getX509SvidTtl()).isEqualTo(3600);
        assertThat(e.getFederatesWithList()).containsExactly("domain.test");

        // A second reconciliation changes nothing.
        assertThat(registrar.reconcile()).isEqualTo(new Registrar.Result(0, 0, 0, 1));

        // The pod goes: its entry goes; the hand-made entry stays.
        k8s.client().pods().inNamespace("default").withName("sleep-1").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().isEmpty());
        assertThat(server.dataStore().fetchEntry(manual.id())).isPresent();

        // A new pod appears after the ClusterSPIFFEID: it gets its entry from the watch.
        String uid2 = pod("default", "sleep-4", "sleep", "sleep", "node-1");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                managed().size() == 1
                                        && managed().get(0).getSelectorsList().stream()
                                                .anyMatch(
                                                        s ->
                                                                s.getValue()
                                                                        .equals(
                                                                                "pod-uid:"
                                                                                        + uid2)));

        // The ClusterSPIFFEID goes: so do its entries.
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_SPIFFE_ID)
                .withName("sleep")
                .delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().isEmpty());
        assertThat(server.dataStore().fetchEntry(manual.id())).isPresent();
    }

    @Test
    void aBadTemplateAppliesToNoPodAndIsLogged() throws Exception {
        GenericKubernetesResource bad =
                Serialization.unmarshal(
                        CLUSTER_SPIFFE_ID.replace(
                                "{{ .PodSpec.ServiceAccountName }}\"",
                                "{{ .PodSpec.ServiceAccountName | printf \\\"%s\\\" }}\""),
                        GenericKubernetesResource.class);
        k8s.client().genericKubernetesResources(Registrar.CLUSTER_SPIFFE_ID).resource(bad).create();
        pod("default", "sleep-1", "sleep", "sleep", "node-1");
        registrar.start();
        assertThat(registrar.reconcile()).isEqualTo(new Registrar.Result(0, 0, 0, 0));
        assertThat(managed()).isEmpty();
    }

    /**
     * Reconciliations read the informers' stores: once started, however many reconciliations run,
     * the API server sees no further list of pods, nodes, namespaces or ClusterSPIFFEIDs.
     */
    @Test
    void reconciliationsReadTheInformersStoresNotTheApiServer() throws Exception {
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_SPIFFE_ID)
                .resource(
                        Serialization.unmarshal(CLUSTER_SPIFFE_ID, GenericKubernetesResource.class))
                .create();
        pod("default", "sleep-1", "sleep", "sleep", "node-1");
        registrar.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().size() == 1);
        long lists = k8s.listRequests();
        for (int i = 0; i < 20; i++) {
            registrar.reconcile();
        }
        String uid = pod("default", "sleep-2", "sleep", "sleep", "node-1");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                managed().stream()
                                        .anyMatch(
                                                e ->
                                                        e.getSelectorsList().stream()
                                                                .anyMatch(
                                                                        s ->
                                                                                s.getValue()
                                                                                        .equals(
                                                                                                "pod-uid:"
                                                                                                        + uid))));
        assertThat(k8s.listRequests())
                .as("list requests to the API server after start")
                .isEqualTo(lists);
    }

    @Test
    void reconcileBeforeStartIsRefused() {
        org.assertj.core.api.Assertions.assertThatThrownBy(registrar::reconcile)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not started");
    }

    /**
     * use_pod_uid_for_agent_id: the agent's ID ends with its pod's UID, unknown to the registrar
     * and new each time the agent's pod is replaced. Entries hang from a node alias that any agent
     * attested on that node (by node UID, in this cluster) holds; an agent of another node, or of
     * another cluster with the same node UID, does not.
     */
    @Test
    void withPodUidAgentIdsEntriesHangFromANodeAliasTheNodesAgentHolds() throws Exception {
        registrar.close();
        registrar =
                new Registrar(
                        k8s.client(),
                        adminClient.admin(),
                        new Registrar.Settings(
                                ServerFixture.TD,
                                "demo-cluster",
                                "cluster.local",
                                Registrar.Settings.DEFAULT_IGNORE_NAMESPACES,
                                true));
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_SPIFFE_ID)
                .resource(
                        Serialization.unmarshal(CLUSTER_SPIFFE_ID, GenericKubernetesResource.class))
                .create();
        String otherNode = k8s.addNode("node-2", Map.of());
        String uid = pod("default", "sleep-1", "sleep", "sleep", "node-1");
        registrar.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().size() == 2);
        Entry alias =
                managed().stream()
                        .filter(e -> e.getParentId().equals("spiffe://example.org/spire/server"))
                        .findFirst()
                        .orElseThrow();
        assertThat(alias.getSpiffeId())
                .isEqualTo("spiffe://example.org/k8s-workload-registrar/demo-cluster/node/node-1");
        assertThat(alias.getSelectorsList())
                .extracting(s -> s.getType() + ":" + s.getValue())
                .containsExactlyInAnyOrder(
                        "k8s_psat:cluster:demo-cluster", "k8s_psat:agent_node_uid:" + nodeUid);
        Entry workload =
                managed().stream()
                        .filter(e -> e != alias && !e.equals(alias))
                        .findFirst()
                        .orElseThrow();
        assertThat(workload.getParentId()).isEqualTo(alias.getSpiffeId());
        assertThat(workload.getSelectorsList())
                .extracting(s -> s.getType() + ":" + s.getValue())
                .contains("k8s:pod-uid:" + uid);

        // The agent of node-1 (ID with its pod UID) is given the workload; the agent of node-2 is
        // not.
        SpiffeId agent1 =
                SpiffeId.parse("spiffe://example.org/spire/agent/k8s_psat/demo-cluster/pod/aaaa-1");
        SpiffeId agent2 =
                SpiffeId.parse("spiffe://example.org/spire/agent/k8s_psat/demo-cluster/pod/bbbb-2");
        server.dataStore()
                .upsertAttestedNode(
                        new io.mithril.server.datastore.AttestedNode(
                                agent1,
                                "k8s_psat",
                                "1",
                                0,
                                false,
                                List.of(
                                        Selector.parse("k8s_psat:cluster:demo-cluster"),
                                        Selector.parse("k8s_psat:agent_node_uid:" + nodeUid)),
                                1));
        server.dataStore()
                .upsertAttestedNode(
                        new io.mithril.server.datastore.AttestedNode(
                                agent2,
                                "k8s_psat",
                                "2",
                                0,
                                false,
                                List.of(
                                        Selector.parse("k8s_psat:cluster:demo-cluster"),
                                        Selector.parse("k8s_psat:agent_node_uid:" + otherNode)),
                                1));
        var authorized =
                io.mithril.server.api.agent.AuthorizedEntries.start(
                        server.dataStore(),
                        SpiffeId.parse("spiffe://example.org/spire/server"),
                        Clock.systemUTC(),
                        Duration.ZERO,
                        null);
        assertThat(authorized.authorizedEntry(agent1, workload.getId())).isPresent();
        assertThat(authorized.authorizedEntry(agent2, workload.getId())).isEmpty();

        // The node's last pod goes: its workload entry and the alias go.
        k8s.client().pods().inNamespace("default").withName("sleep-1").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().isEmpty());
    }

    /**
     * spire-controller-manager's ClusterStaticEntry: one entry as written, following the object; a
     * bad one makes none.
     */
    @Test
    void aClusterStaticEntryGivesItsEntry() throws Exception {
        registrar.start();
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_STATIC_ENTRY)
                .resource(
                        Serialization.unmarshal(
                                """
                apiVersion: spire.spiffe.io/v1alpha1
                kind: ClusterStaticEntry
                metadata:
                  name: legacy-vm
                spec:
                  spiffeID: spiffe://example.org/vm/legacy
                  parentID: spiffe://example.org/spire/agent/x509pop/vm-1
                  selectors: ["unix:uid:1000", "unix:user:app"]
                  x509SVIDTTL: 30m
                  dnsNames: ["legacy.example.org"]
                  hint: vm
                """,
                                GenericKubernetesResource.class))
                .create();
        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_STATIC_ENTRY)
                .resource(
                        Serialization.unmarshal(
                                """
                apiVersion: spire.spiffe.io/v1alpha1
                kind: ClusterStaticEntry
                metadata:
                  name: elsewhere
                spec:
                  spiffeID: spiffe://other.org/x
                  parentID: spiffe://example.org/spire/agent/x509pop/vm-1
                  selectors: ["unix:uid:1"]
                """,
                                GenericKubernetesResource.class))
                .create();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().size() == 1);
        Entry e = managed().get(0);
        assertThat(e.getSpiffeId()).isEqualTo("spiffe://example.org/vm/legacy");
        assertThat(e.getParentId()).isEqualTo("spiffe://example.org/spire/agent/x509pop/vm-1");
        assertThat(e.getSelectorsList())
                .extracting(s -> s.getType() + ":" + s.getValue())
                .containsExactlyInAnyOrder("unix:uid:1000", "unix:user:app");
        assertThat(e.getX509SvidTtl()).isEqualTo(1800);
        assertThat(e.getDnsNamesList()).containsExactly("legacy.example.org");
        assertThat(e.getHint()).isEqualTo("vm");

        k8s.client()
                .genericKubernetesResources(Registrar.CLUSTER_STATIC_ENTRY)
                .withName("legacy-vm")
                .delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> managed().isEmpty());
    }
}
