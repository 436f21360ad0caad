package io.mithril.controlplane;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One ADS connection as {@code istioctl proxy-status} shows it: who is connected (SPIFFE ID of its
 * certificate, its node), and per xDS type ({@code CDS}, {@code EDS}, {@code LDS}, {@code RDS}) the
 * version last sent, the version last ACKed and the error of a NACK newer than its last ACK.
 *
 * @param nodeId the node ID (Istio's form {@code sidecar~ip~pod.ns~ns.svc.cluster.local})
 * @param name {@code <pod>.<namespace>} from the node ID, as istioctl names proxies
 * @param sent type -> version last sent
 * @param acked type -> version last ACKed
 * @param nacks type -> {@code version V: error} of the last NACK, while no newer version was ACKed
 */
public record ProxyStatus(
        String nodeId,
        String name,
        String spiffeId,
        String kind,
        String namespace,
        Map<String, String> labels,
        String peerAddress,
        Instant connectedAt,
        Map<String, String> sent,
        Map<String, String> acked,
        Map<String, String> nacks) {

    /** The xDS types in the order the status table shows them. */
    public static final List<String> TYPES = List.of("CDS", "LDS", "EDS", "RDS");

    public ProxyStatus {
        labels = Map.copyOf(labels);
        sent = new TreeMap<>(sent);
        acked = new TreeMap<>(acked);
        nacks = new TreeMap<>(nacks);
    }

    /**
     * SYNCED (ACKed what was sent), NACKED (rejected it), STALE (no answer yet) or NOT SENT, for
     * one type.
     */
    public String state(String type) {
        if (nacks.containsKey(type)) {
            return "NACKED";
        }
        String s = sent.get(type);
        if (s == null) {
            return "NOT SENT";
        }
        return s.equals(acked.get(type)) ? "SYNCED" : "STALE";
    }

    /** NACKED if any type is, SYNCED if every type sent was ACKed, else STALE. */
    public String state() {
        if (!nacks.isEmpty()) {
            return "NACKED";
        }
        if (sent.isEmpty()) {
            return "STALE";
        }
        return sent.keySet().stream().allMatch(t -> state(t).equals("SYNCED")) ? "SYNCED" : "STALE";
    }
}
