package io.mithril.api.observability;

import io.mithril.hcl.HclException;
import io.mithril.hcl.HclObject;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.LoggerFactory;

/** Reads the observability blocks that SPIRE's server.conf and agent.conf share. */
public final class ObservabilityConfig {

    private ObservabilityConfig() {}

    /**
     * SPIRE's {@code health_checks { listener_enabled, bind_address, bind_port, live_path,
     * ready_path }} block, shared by server and agent configurations; null when absent or not
     * enabled.
     */
    public static HealthChecksConfig healthChecks(HclObject doc) throws HclException {
        Optional<HclObject> health = doc.object("health_checks");
        if (health.isEmpty()) {
            return null;
        }
        HclObject h = health.get();
        h.requireOnly(
                Set.of("listener_enabled", "bind_address", "bind_port", "live_path", "ready_path"),
                "health_checks block");
        if (!h.bool("listener_enabled", false)) {
            return null;
        }
        long port = h.number("bind_port", 80);
        if (port < 0 || port > 65535) {
            throw new HclException(
                    h.position("bind_port"),
                    "bind_port " + port + " is not a port number (0-65535)");
        }
        return new HealthChecksConfig(
                h.string("bind_address", "localhost"),
                (int) port,
                h.string("live_path", "/live"),
                h.string("ready_path", "/ready"));
    }

    /**
     * SPIRE's {@code telemetry { Prometheus { host, port } }} block, shared by server and agent
     * configurations; null without a Prometheus sink. Other sinks are accepted and not served.
     */
    public static TelemetryConfig telemetry(HclObject doc) throws HclException {
        Optional<HclObject> telemetry = doc.object("telemetry");
        if (telemetry.isEmpty()) {
            return null;
        }
        HclObject t = telemetry.get();
        t.requireOnly(
                Set.of(
                        "Prometheus",
                        "DogStatsd",
                        "Statsd",
                        "M3",
                        "InMem",
                        "AllowedPrefixes",
                        "BlockedPrefixes",
                        "AllowedLabels",
                        "BlockedLabels",
                        "EnableHostnameLabel",
                        "MetricPrefix"),
                "telemetry block");
        for (String sink : List.of("DogStatsd", "Statsd", "M3", "InMem")) {
            if (t.has(sink)) {
                LoggerFactory.getLogger(ObservabilityConfig.class)
                        .warn(
                                "{}: telemetry sink {} is not served by Mithril;"
                                        + " metrics are exported only through telemetry.Prometheus",
                                t.position(sink),
                                sink);
            }
        }
        List<HclObject> prom = t.objects("Prometheus");
        if (prom.isEmpty()) {
            return null;
        }
        HclObject p = prom.get(0);
        p.requireOnly(Set.of("host", "port"), "telemetry.Prometheus block");
        long port = p.number("port", 9988);
        if (port < 0 || port > 65535) {
            throw new HclException(
                    p.position("port"), "port " + port + " is not a port number (0-65535)");
        }
        return new TelemetryConfig(p.string("host", "localhost"), (int) port);
    }
}
