package io.mithril.mesh.model;

import java.util.List;
import java.util.Map;

/**
 * {@code networking.istio.io ServiceEntry}: declares a service the mesh does not discover itself,
 * with its ports and its endpoints (inline {@code endpoints}, or the WorkloadEntries chosen by
 * {@code workloadSelector}).
 */
public record ServiceEntry(
        Metadata metadata,
        Origin origin,
        List<String> hosts,
        List<String> addresses,
        List<ServicePort> ports,
        Location location,
        Resolution resolution,
        List<WorkloadEntry.Endpoint> endpoints,
        Map<String, String> workloadSelector,
        List<String> subjectAltNames,
        List<String> exportTo)
        implements Resource {
    public ServiceEntry {
        hosts = List.copyOf(hosts);
        addresses = List.copyOf(addresses);
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
        workloadSelector = workloadSelector == null ? null : Map.copyOf(workloadSelector);
        subjectAltNames = List.copyOf(subjectAltNames);
        exportTo = List.copyOf(exportTo);
    }

    /** {@code ports[]}. */
    public record ServicePort(int number, String protocol, String name, Integer targetPort) {}

    /** {@code location}. */
    public enum Location {
        MESH_EXTERNAL,
        MESH_INTERNAL
    }

    /** {@code resolution}. */
    public enum Resolution {
        NONE,
        STATIC,
        DNS,
        DNS_ROUND_ROBIN
    }
}
