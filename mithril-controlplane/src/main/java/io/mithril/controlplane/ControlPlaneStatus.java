package io.mithril.controlplane;

import java.time.Instant;
import java.util.List;

/**
 * The control plane's state for {@code mithril controlplane status}: its SPIFFE ID, the config
 * version it serves, the last rejected change (if the newest files are invalid) and every connected
 * proxy.
 *
 * @param rejectedErrors the errors of the newest configuration files, empty when they are in use
 */
public record ControlPlaneStatus(
        String spiffeId,
        String configDir,
        String configVersion,
        Instant configLoadedAt,
        int resources,
        List<String> rejectedErrors,
        Instant rejectedAt,
        List<ProxyStatus> proxies) {
    public ControlPlaneStatus {
        rejectedErrors = List.copyOf(rejectedErrors);
        proxies = List.copyOf(proxies);
    }
}
