package io.mithril.api.observability;

/**
 * SPIRE's {@code health_checks { listener_enabled = true, bind_address, bind_port, live_path,
 * ready_path }} block (server and agent alike).
 */
public record HealthChecksConfig(
        String bindAddress, int bindPort, String livePath, String readyPath) {}
