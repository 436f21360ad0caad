package io.mithril.cli.controlplane;

import io.mithril.cli.Cli;
import io.mithril.controlplane.ControlPlaneConfig;
import io.mithril.controlplane.ControlPlaneConfigException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The control plane's loopback admin endpoint as the CLI finds it (a picocli mixin of {@code
 * status} and {@code config-dump}): {@code -adminAddress}, else the admin address of {@code
 * -config}, else {@code 127.0.0.1:15014}.
 */
final class AdminEndpoint {

    @Option(
            names = {"-adminAddress", "--adminAddress"},
            paramLabel = "HOST:PORT",
            description =
                    "The control plane's admin endpoint (default 127.0.0.1:15014, or admin_address/admin_port of -config).")
    String adminAddress;

    @Option(
            names = {"-config", "--config"},
            paramLabel = "FILE",
            description = "Read the admin address from this control plane configuration file.")
    Path config;

    /** HOST:PORT of the admin endpoint. */
    String address() {
        if (adminAddress != null) {
            return adminAddress;
        }
        if (config != null) {
            try {
                ControlPlaneConfig cfg = ControlPlaneConfig.load(config, System.getenv());
                return cfg.admin().getAddress().getHostAddress() + ":" + cfg.admin().getPort();
            } catch (ControlPlaneConfigException e) {
                throw new Cli.UserException(e.getMessage(), e);
            }
        }
        return "127.0.0.1:" + ControlPlaneConfig.DEFAULT_ADMIN_PORT;
    }

    /**
     * GET {@code pathAndQuery}; a status other than 200 or 404 and a connection failure are user
     * errors.
     */
    static HttpResponse<String> get(String address, String pathAndQuery) {
        URI uri;
        try {
            uri = URI.create("http://" + address + pathAndQuery);
        } catch (IllegalArgumentException e) {
            throw new Cli.UserException("-adminAddress \"" + address + "\" is not HOST:PORT");
        }
        try {
            HttpResponse<String> r =
                    HttpClient.newBuilder()
                            .connectTimeout(Duration.ofSeconds(5))
                            .build()
                            .send(
                                    HttpRequest.newBuilder(uri)
                                            .timeout(Duration.ofSeconds(10))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200 && r.statusCode() != 404) {
                throw new Cli.UserException(
                        uri
                                + " answered HTTP "
                                + r.statusCode()
                                + ": is this a Mithril control plane admin endpoint?");
            }
            return r;
        } catch (ConnectException e) {
            throw new Cli.UserException(
                    "cannot reach the control plane admin endpoint at "
                            + uri
                            + ": connection refused (is `mithril controlplane run` running? give its admin address with -adminAddress)");
        } catch (IOException e) {
            throw new Cli.UserException(
                    "cannot reach the control plane admin endpoint at " + uri + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Cli.UserException("interrupted while asking " + uri);
        }
    }
}
