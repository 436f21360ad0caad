package io.mithril.mesh.model;

import java.util.Map;

/**
 * {@code networking.istio.io WorkloadEntry}: one workload at an address (a VM, a process on a plain
 * machine). Also the shape of a ServiceEntry's inline {@code endpoints}.
 */
public record WorkloadEntry(Metadata metadata, Origin origin, Endpoint spec) implements Resource {

    /** The spec: address, named ports, labels, weight and service account (its identity). */
    public record Endpoint(
            String address,
            Map<String, Integer> ports,
            Map<String, String> labels,
            String network,
            String locality,
            int weight,
            String serviceAccount) {
        public Endpoint {
            ports = Map.copyOf(ports);
            labels = Map.copyOf(labels);
        }
    }
}
