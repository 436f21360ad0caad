package io.mithril.controlplane.k8s;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Kubernetes Service and its EndpointSlices as the {@code ServiceEntry} istiod would make of them
 * (named {@code k8s-svc-<name>} in the Service's namespace): host {@code
 * <name>.<namespace>.svc.<cluster domain>}, the cluster IP, the TCP ports, and one endpoint per
 * ready address with the service account of its pod.
 */
final class ServiceEntries {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Istio's protocol prefixes of port names and appProtocol values ({@code protocol.Parse}). */
    private static final Set<String> PROTOCOLS =
            Set.of(
                    "HTTP",
                    "HTTP2",
                    "HTTPS",
                    "GRPC",
                    "GRPC-WEB",
                    "TCP",
                    "TLS",
                    "MONGO",
                    "REDIS",
                    "MYSQL");

    /**
     * Prefix of the ServiceEntries' names: a ServiceEntry a user wrote with the Service's own name
     * in its namespace must not make the whole set a duplicate (and rejected).
     */
    static final String NAME_PREFIX = "k8s-svc-";

    /** The label EndpointSlices name their Service with. */
    static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private ServiceEntries() {}

    /**
     * The ServiceEntry document, or null for a Service istiod does not serve (ExternalName, no TCP
     * port).
     */
    static ObjectNode of(
            Service svc,
            List<EndpointSlice> slices,
            SharedIndexInformer<Pod> pods,
            String clusterDomain) {
        String ns = svc.getMetadata().getNamespace();
        String name = svc.getMetadata().getName();
        if (svc.getSpec() == null || "ExternalName".equals(svc.getSpec().getType())) {
            return null;
        }
        List<ServicePort> tcp =
                svc.getSpec().getPorts() == null
                        ? List.of()
                        : svc.getSpec().getPorts().stream()
                                .filter(
                                        p ->
                                                p.getProtocol() == null
                                                        || p.getProtocol().equals("TCP"))
                                .toList();
        if (tcp.isEmpty()) {
            return null;
        }
        ObjectNode se =
                JSON.createObjectNode()
                        .put("apiVersion", "networking.istio.io/v1")
                        .put("kind", "ServiceEntry");
        se.putObject("metadata").put("name", NAME_PREFIX + name).put("namespace", ns);
        ObjectNode spec = se.putObject("spec");
        spec.putArray("hosts").add(name + "." + ns + ".svc." + clusterDomain);
        String ip = svc.getSpec().getClusterIP();
        if (ip != null && !ip.isEmpty() && !ip.equals("None")) {
            spec.putArray("addresses").add(ip);
        }
        spec.put("location", "MESH_INTERNAL").put("resolution", "STATIC");
        ArrayNode ports = spec.putArray("ports");
        for (ServicePort p : tcp) {
            ports.addObject()
                    .put("number", p.getPort())
                    .put("name", portName(p))
                    .put("protocol", protocol(p));
        }
        ArrayNode endpoints = spec.putArray("endpoints");
        for (EndpointSlice slice : slices) {
            Map<String, String> labels = slice.getMetadata().getLabels();
            if (!ns.equals(slice.getMetadata().getNamespace())
                    || labels == null
                    || !name.equals(labels.get(SERVICE_NAME_LABEL))
                    || !"IPv4".equals(slice.getAddressType())
                            && !"IPv6".equals(slice.getAddressType())) {
                continue;
            }
            for (Endpoint e :
                    slice.getEndpoints() == null ? List.<Endpoint>of() : slice.getEndpoints()) {
                if (e.getConditions() != null
                        && Boolean.FALSE.equals(e.getConditions().getReady())) {
                    continue;
                }
                Pod pod = pod(e.getTargetRef(), pods);
                for (String address : e.getAddresses()) {
                    ObjectNode ep = endpoints.addObject().put("address", address);
                    ObjectNode epPorts = ep.putObject("ports");
                    for (ServicePort p : tcp) {
                        for (EndpointPort sp :
                                slice.getPorts() == null
                                        ? List.<EndpointPort>of()
                                        : slice.getPorts()) {
                            String spName = sp.getName() == null ? "" : sp.getName();
                            String svcPortName = p.getName() == null ? "" : p.getName();
                            if (spName.equals(svcPortName) && sp.getPort() != null) {
                                epPorts.put(portName(p), sp.getPort());
                            }
                        }
                    }
                    if (pod != null) {
                        if (pod.getSpec() != null
                                && pod.getSpec().getServiceAccountName() != null) {
                            ep.put("serviceAccount", pod.getSpec().getServiceAccountName());
                        }
                        if (pod.getMetadata().getLabels() != null) {
                            ObjectNode l = ep.putObject("labels");
                            new TreeMap<>(pod.getMetadata().getLabels()).forEach(l::put);
                        }
                    }
                }
            }
        }
        return se;
    }

    private static Pod pod(ObjectReference ref, SharedIndexInformer<Pod> pods) {
        if (ref == null || !"Pod".equals(ref.getKind()) || ref.getName() == null) {
            return null;
        }
        return pods.getStore().getByKey(ref.getNamespace() + "/" + ref.getName());
    }

    /** The Service port's name; an unnamed one (a Service with one port) as {@code tcp-<port>}. */
    private static String portName(ServicePort p) {
        return p.getName() == null || p.getName().isEmpty() ? "tcp-" + p.getPort() : p.getName();
    }

    /**
     * As Istio: {@code appProtocol}, else the port name's prefix before {@code -}; otherwise TCP.
     */
    static String protocol(ServicePort p) {
        if (p.getAppProtocol() != null) {
            String app = p.getAppProtocol().toUpperCase(Locale.ROOT);
            if (app.equals("KUBERNETES.IO/H2C")) {
                return "HTTP2";
            }
            if (PROTOCOLS.contains(app)) {
                return app;
            }
        }
        String n = p.getName() == null ? "" : p.getName().toUpperCase(Locale.ROOT);
        if (PROTOCOLS.contains(n)) {
            return n;
        }
        int dash = n.indexOf('-');
        if (dash > 0 && PROTOCOLS.contains(n.substring(0, dash))) {
            return n.substring(0, dash);
        }
        return "TCP";
    }
}
