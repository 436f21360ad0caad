package io.mithril.api.observability;

/**
 * SPIRE's {@code telemetry { Prometheus { host, port } }}: where {@code /metrics} is served (server
 * and agent alike).
 */
public record TelemetryConfig(String host, int port) {}
