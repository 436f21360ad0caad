package io.mithril.agent.attestor.workload.k8s;

import io.mithril.agent.attestor.workload.Caller;
import io.mithril.agent.attestor.workload.WorkloadAttestationException;
import io.mithril.agent.attestor.workload.WorkloadAttestor;
import io.mithril.agent.attestor.workload.unix.ProcessInfo;
import io.mithril.agent.config.K8sWorkloadAttestorConfig;
import io.mithril.api.selector.Selector;
import io.mithril.k8s.workload.ContainerLocator;
import io.mithril.k8s.workload.KubeletPods;
import io.mithril.k8s.workload.PodCgroups;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code WorkloadAttestor "k8s"}, as SPIRE's: the caller's pid is mapped to its pod UID and
 * container ID by SPIRE's new container locator ({@link ContainerLocator}: {@code
 * /proc/<pid>/cgroup}, then the cgroup mounts of {@code /proc/<pid>/mountinfo}), or with {@code
 * use_new_container_locator = false} by the legacy cgroup-file expressions ({@link PodCgroups});
 * the pod is looked up in the kubelet's {@code /pods} ({@link KubeletPods}), and SPIRE's {@code
 * k8s:} selectors are returned ({@code k8s:ns}, {@code k8s:sa}, {@code k8s:pod-name}, {@code
 * k8s:pod-uid}, {@code k8s:pod-label}, {@code k8s:pod-owner}, {@code k8s:container-name}, {@code
 * k8s:container-image}, {@code k8s:node-name}, ...).
 *
 * <p>A container the kubelet does not list yet is looked for again every {@code
 * poll_retry_interval}, {@code max_poll_attempts} times; then, as in SPIRE, the attestor gives up
 * and the call goes on with the other attestors' selectors only (logged). A process outside any pod
 * gets no {@code k8s} selectors. A kubelet that cannot be reached or answers badly is the same as a
 * container not found. Only a caller whose pid now names another process (its start time changed)
 * fails the call.
 */
public final class K8sWorkloadAttestor implements WorkloadAttestor {

    private static final Logger log = LoggerFactory.getLogger(K8sWorkloadAttestor.class);
    public static final String TYPE = "k8s";

    private final K8sWorkloadAttestorConfig config;
    private final KubeletClient kubelet;
    private final ContainerLocator locator;

    /**
     * @throws IOException when the kubelet CA cannot be loaded (the message names the file)
     */
    public K8sWorkloadAttestor(K8sWorkloadAttestorConfig config) throws IOException {
        this.config = config;
        this.kubelet = new KubeletClient(config);
        this.locator =
                new ContainerLocator(config.procRoot(), config.verboseContainerLocatorLogs());
        // The Kubernetes model's JSON binding takes seconds to load the first time: do it now, off
        // the Workload API's path, so the first caller does not pay for it.
        Thread warm =
                new Thread(
                        () ->
                                KubeletPods.parse(
                                        "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"items\":[]}"),
                        "k8s-attestor-warmup");
        warm.setDaemon(true);
        warm.start();
    }

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public List<Selector> attest(Caller caller) throws WorkloadAttestationException {
        Optional<PodCgroups.Container> container;
        Path pidDir = config.procRoot().resolve(Integer.toString(caller.pid()));
        try {
            container =
                    config.useNewContainerLocator()
                            ? locator.podUidAndContainerId(caller.pid())
                            : PodCgroups.parse(
                                    Files.readString(
                                            pidDir.resolve("cgroup"), StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            log.warn(
                    "k8s: no cgroup file {} for pid {}; no k8s selectors",
                    e.getFile(),
                    caller.pid());
            return List.of();
        } catch (IOException | IllegalArgumentException e) {
            log.warn(
                    "k8s: unable to obtain the container of pid {} from {}: {}; no k8s selectors",
                    caller.pid(),
                    config.useNewContainerLocator()
                            ? pidDir + "/{cgroup,mountinfo}"
                            : pidDir.resolve("cgroup"),
                    e.getMessage());
            return List.of();
        }
        if (container.isEmpty()) {
            return List.of(); // not a Kubernetes pod
        }
        PodCgroups.Container c = container.get();
        String lastError = null;
        for (int attempt = 1; attempt <= config.maxPollAttempts(); attempt++) {
            try {
                Optional<List<String>> values =
                        KubeletPods.parse(kubelet.pods())
                                .selectorValues(c, config.disableContainerSelectors());
                if (values.isPresent()) {
                    checkSameProcess(caller);
                    return values.get().stream().map(v -> new Selector(TYPE, v)).toList();
                }
                lastError = null;
            } catch (IOException | IllegalArgumentException e) {
                lastError = e.getMessage();
            } catch (IllegalStateException e) {
                log.warn(
                        "k8s: pod UID {} container {}: {}; no k8s selectors",
                        c.podUid(),
                        c.containerId(),
                        e.getMessage());
                return List.of();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            }
            if (attempt < config.maxPollAttempts()) {
                log.debug(
                        "k8s: container {} not found (attempt {}); will retry after {}",
                        c.containerId(),
                        attempt,
                        config.pollRetryInterval());
                try {
                    Thread.sleep(config.pollRetryInterval().toMillis());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return List.of();
                }
            }
        }
        if (lastError != null) {
            log.warn(
                    "k8s: unable to get pod list from the kubelet ({}); giving up after {} attempts; no k8s selectors",
                    lastError,
                    config.maxPollAttempts());
        } else {
            log.warn(
                    "k8s: container id {} (pod UID {}) not found; giving up after {} attempts; no k8s selectors",
                    c.containerId(),
                    c.podUid().isEmpty() ? "unknown" : c.podUid(),
                    config.maxPollAttempts());
        }
        return List.of();
    }

    private static void checkSameProcess(Caller caller) throws WorkloadAttestationException {
        if (caller.startTime() < 0) {
            return;
        }
        long now;
        try {
            now = ProcessInfo.startTime(Path.of("/proc"), caller.pid());
        } catch (IOException e) {
            throw new WorkloadAttestationException(
                    "k8s: the calling process " + caller.pid() + " exited during attestation");
        }
        if (now < 0) {
            throw new WorkloadAttestationException(
                    "k8s: the calling process " + caller.pid() + " exited during attestation");
        }
        if (now != caller.startTime()) {
            throw new WorkloadAttestationException(
                    "k8s: pid " + caller.pid() + " names another process than the caller");
        }
    }
}
