package io.mithril.controlplane;

import io.mithril.api.workload.client.X509Source;
import io.mithril.spiffe.svid.IdentitySource;
import io.mithril.spiffe.svid.X509Svid;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code mithril controlplane run}: wires the parts together from a {@link ControlPlaneConfig} —
 * the SVID from the Workload API, the xDS (ADS) server, the watched configuration directory and the
 * loopback admin endpoint.
 */
public final class ControlPlaneServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneServer.class);

    private final X509Source source;
    private final ControlPlane controlPlane;
    private final AdminServer admin;
    private final ConfigWatcher watcher;

    private ControlPlaneServer(
            X509Source source,
            ControlPlane controlPlane,
            AdminServer admin,
            ConfigWatcher watcher) {
        this.source = source;
        this.controlPlane = controlPlane;
        this.admin = admin;
        this.watcher = watcher;
    }

    /**
     * Starts everything; waits up to {@code svidTimeout} for the first SVID.
     *
     * @throws IOException if a port cannot be bound or the configuration directory cannot be
     *     watched
     * @throws ControlPlaneConfigException if the Workload API gives an SVID of another ID or trust
     *     domain than configured
     * @throws io.mithril.api.workload.client.WorkloadApiException if no SVID arrives in time
     */
    public static ControlPlaneServer start(ControlPlaneConfig config, Duration svidTimeout)
            throws IOException {
        Objects.requireNonNull(config, "config");
        String address = config.workloadApi().toString();
        log.info("fetching the control plane's SVID from the Workload API at {}", address);
        X509Source source = X509Source.start(address, svidTimeout);
        ControlPlane cp = null;
        AdminServer admin = null;
        try {
            IdentitySource identity = source.identity(config.spiffeId());
            X509Svid svid = identity.svid();
            if (svid == null) {
                throw new ControlPlaneConfigException(
                        "the Workload API at "
                                + address
                                + " gives the SVIDs "
                                + source.current().svids().stream()
                                        .map(s -> s.spiffeId().toString())
                                        .toList()
                                + ", but not spiffe_id "
                                + config.spiffeId()
                                + ": register the control plane's workload with that ID or fix spiffe_id");
            }
            if (!svid.spiffeId().memberOf(config.trustDomain())) {
                throw new ControlPlaneConfigException(
                        "the control plane's SVID "
                                + svid.spiffeId()
                                + " is not in trust_domain "
                                + config.trustDomain());
            }
            cp =
                    ControlPlane.start(
                            config.listen(),
                            identity,
                            config.trustDomain(),
                            config.configDir().toString(),
                            config.trustDomainAliases());
            admin = AdminServer.start(config.admin(), cp::status, cp.xds());
            ConfigWatcher watcher =
                    ConfigWatcher.start(config.configDir(), new IstioValidator(), cp);
            return new ControlPlaneServer(source, cp, admin, watcher);
        } catch (IOException | RuntimeException e) {
            if (admin != null) {
                admin.close();
            }
            if (cp != null) {
                cp.close();
            }
            source.close();
            throw e;
        }
    }

    public ControlPlane controlPlane() {
        return controlPlane;
    }

    public int adminPort() {
        return admin.port();
    }

    @Override
    public void close() {
        watcher.close();
        admin.close();
        controlPlane.close();
        source.close();
    }
}
