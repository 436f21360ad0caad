package io.mithril.controlplane;

import java.time.Instant;
import java.util.Map;

/**
 * What the control plane knows of one connected proxy, as {@code istioctl proxy-status} shows it.
 *
 * @param sentVersion the version of the last snapshot sent to it
 * @param ackedVersion the last version it ACKed ("" if none)
 * @param nackVersion the version of its last NACK, if that NACK is newer than its last ACK ("" otherwise)
 * @param nackError the error of that NACK ("" if none)
 */
public record ProxyStatus(String spiffeId, String kind, String namespace, String nodeName, Map<String, String> labels,
                          String peerAddress, Instant connectedAt, String sentVersion, String ackedVersion,
                          String nackVersion, String nackError) {

    /** SYNCED (ACKed what was sent), NACKED (rejected it) or STALE (no answer yet). */
    public String state() {
        if (!nackVersion.isEmpty() && nackVersion.equals(sentVersion)) {
            return "NACKED";
        }
        return !sentVersion.isEmpty() && sentVersion.equals(ackedVersion) ? "SYNCED" : "STALE";
    }
}
