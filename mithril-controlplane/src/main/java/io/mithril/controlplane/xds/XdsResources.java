package io.mithril.controlplane.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The xDS resources of one proxy, each list sorted by name so that the same configuration gives the
 * same bytes and the same versions.
 */
public record XdsResources(
        List<Listener> listeners,
        List<RouteConfiguration> routes,
        List<Cluster> clusters,
        List<ClusterLoadAssignment> endpoints) {

    public XdsResources {
        listeners = List.copyOf(listeners);
        routes = List.copyOf(routes);
        clusters = List.copyOf(clusters);
        endpoints = List.copyOf(endpoints);
    }

    /** Every resource, in the order Envoy applies them (CDS, EDS, LDS, RDS). */
    public List<Message> all() {
        List<Message> all = new ArrayList<>(clusters);
        all.addAll(endpoints);
        all.addAll(listeners);
        all.addAll(routes);
        return all;
    }

    /** The first 12 hex digits of the SHA-256 of the resources' deterministic serialization. */
    public static String versionOf(List<? extends Message> resources) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Message m : resources) {
                md.update(m.getDescriptorForType().getFullName().getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                // Deterministic: maps (RBAC policies) serialize sorted.
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                com.google.protobuf.CodedOutputStream c =
                        com.google.protobuf.CodedOutputStream.newInstance(out);
                c.useDeterministicSerialization();
                m.writeTo(c);
                c.flush();
                md.update(out.toByteArray());
                md.update((byte) 0);
            }
            return HexFormat.of().formatHex(md.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException | java.io.IOException e) {
            throw new IllegalStateException("cannot hash xDS resources", e);
        }
    }
}
