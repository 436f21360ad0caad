package io.mithril.mesh.model;

import java.util.Map;

/**
 * {@code security.istio.io PeerAuthentication}: whether the sidecars it selects accept plaintext. A
 * policy without selector applies to its namespace; in the root namespace ({@code istio-system}) to
 * the whole mesh.
 */
public record PeerAuthentication(
        Metadata metadata,
        Origin origin,
        Map<String, String> selector,
        Mode mode,
        Map<Integer, Mode> portLevelMtls)
        implements Resource {
    public PeerAuthentication {
        selector = selector == null ? null : Map.copyOf(selector);
        portLevelMtls = Map.copyOf(portLevelMtls);
    }

    /** {@code mtls.mode}; UNSET inherits from the parent scope. */
    public enum Mode {
        UNSET,
        DISABLE,
        PERMISSIVE,
        STRICT
    }
}
