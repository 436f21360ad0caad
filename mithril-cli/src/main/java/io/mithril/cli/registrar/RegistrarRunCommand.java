package io.mithril.cli.registrar;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.mithril.cli.Cli;
import io.mithril.k8s.KubeClients;
import io.mithril.server.api.admin.AdminClient;
import io.mithril.server.config.ServerConfig;
import io.mithril.server.registrar.Registrar;
import io.mithril.spiffe.id.TrustDomain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril registrar run -trustDomain TD -clusterName NAME [-socketPath SOCK] [-kubeconfig
 * FILE] [-usePodUidForAgentId]}: watches ClusterSPIFFEIDs and pods and keeps one entry per matching
 * pod on the identity server, through its admin API, until SIGTERM/SIGINT.
 */
@Command(
        name = "run",
        mixinStandardHelpOptions = true,
        description = "Runs the registrar until stopped.")
public final class RegistrarRunCommand implements Callable<Integer> {

    @Option(
            names = {"-trustDomain", "--trustDomain"},
            required = true,
            paramLabel = "TD",
            description = "The server's trust domain.")
    String trustDomain;

    @Option(
            names = {"-clusterName", "--clusterName"},
            required = true,
            paramLabel = "NAME",
            description =
                    "The cluster's name in the agents' k8s_psat configuration (their IDs' path segment).")
    String clusterName;

    @Option(
            names = {"-clusterDomain", "--clusterDomain"},
            paramLabel = "DOMAIN",
            description = "The cluster's DNS domain (default: ${DEFAULT-VALUE}).")
    String clusterDomain = "cluster.local";

    @Option(
            names = {"-socketPath", "--socketPath"},
            paramLabel = "PATH",
            description = "The identity server's admin socket (default: ${DEFAULT-VALUE}).")
    Path socketPath = ServerConfig.DEFAULT_SOCKET_PATH;

    @Option(
            names = {"-kubeconfig", "--kubeconfig"},
            paramLabel = "FILE",
            description = "Kubeconfig; default: the in-cluster configuration.")
    Path kubeconfig;

    @Option(
            names = {"-ignoreNamespaces", "--ignoreNamespaces"},
            split = ",",
            paramLabel = "NS",
            description =
                    "Namespaces whose pods get no entries (default: kube-system,kube-public,spire-system).")
    List<String> ignoreNamespaces = List.copyOf(Registrar.Settings.DEFAULT_IGNORE_NAMESPACES);

    @Option(
            names = {"-usePodUidForAgentId", "--usePodUidForAgentId"},
            description =
                    "Set when the server's k8s_psat cluster has use_pod_uid_for_agent_id = true: pods' entries are "
                            + "parented to one node alias entry per node (as SPIRE's k8s-workload-registrar did) instead of the "
                            + "agent ID ending with the node UID.")
    boolean usePodUidForAgentId;

    @Override
    public Integer call() throws Exception {
        TrustDomain td;
        try {
            td = TrustDomain.parse(trustDomain);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException("-trustDomain " + trustDomain + ": " + e.getMessage(), e);
        }
        if (!clusterName.matches("[A-Za-z0-9._-]+")) {
            throw new Cli.UserException(
                    "-clusterName "
                            + clusterName
                            + ": use letters, digits, '.', '_' and '-' (it is a path segment of agent IDs)");
        }
        if (!Files.exists(socketPath)) {
            throw new Cli.UserException(
                    "-socketPath "
                            + socketPath
                            + ": no admin socket there (is the identity server running?)");
        }
        KubernetesClient k8s;
        try {
            k8s = KubeClients.create(kubeconfig, "registrar");
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException(e.getMessage(), e);
        }
        AdminClient admin = AdminClient.connect(socketPath);
        Registrar registrar =
                new Registrar(
                        k8s,
                        admin.admin(),
                        new Registrar.Settings(
                                td,
                                clusterName,
                                clusterDomain,
                                Set.copyOf(ignoreNamespaces),
                                usePodUidForAgentId));
        registrar.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    registrar.close();
                                    admin.close();
                                    k8s.close();
                                    stopped.countDown();
                                },
                                "mithril-registrar-shutdown"));
        stopped.await();
        return 0;
    }
}
