package io.mithril.controlplane;

import io.mithril.spiffe.id.SpiffeId;
import java.util.Map;
import java.util.Objects;

/**
 * A connected proxy as the control plane knows it: its SPIFFE ID (from its client certificate,
 * which the TLS handshake validated) and what its xDS node says (kind, namespace, labels, node ID).
 */
public record ProxyInfo(
        SpiffeId spiffeId,
        Kind kind,
        String namespace,
        Map<String, String> labels,
        String nodeName) {

    /** Gateway (ingress or egress) or sidecar. */
    public enum Kind {
        GATEWAY,
        SIDECAR
    }

    public ProxyInfo {
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(namespace, "namespace");
        labels = Map.copyOf(labels);
        nodeName = nodeName == null ? "" : nodeName;
    }

    /**
     * Whether a label selector selects this proxy: every selector label has the same value here; an
     * empty selector selects all.
     */
    public boolean selectedBy(Map<String, String> selector) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
