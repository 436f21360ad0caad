package io.mithril.cli.proxy;

import io.mithril.cli.Cli;
import io.mithril.spiffe.id.SpiffeId;

/** Checks of {@code -controlPlane}/{@code -controlPlaneID}, kept out of ProxyCommand. */
final class ControlPlaneOptions {

    private ControlPlaneOptions() {}

    static SpiffeId controlPlaneId(String value) {
        if (value == null) {
            throw new Cli.UserException(
                    "-controlPlane needs -controlPlaneID SPIFFE_ID: the proxy accepts only that identity "
                            + "from the control plane (e.g. -controlPlaneID spiffe://example.org/ns/istio-system/sa/istiod)");
        }
        try {
            return SpiffeId.parse(value);
        } catch (RuntimeException e) {
            throw new Cli.UserException("-controlPlaneID " + value + ": " + e.getMessage());
        }
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // shutting down
        }
    }
}
