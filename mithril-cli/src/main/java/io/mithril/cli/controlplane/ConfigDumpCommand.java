package io.mithril.cli.controlplane;

import io.mithril.cli.Cli;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code mithril controlplane config-dump [NODE]}: what {@code istioctl proxy-config all} shows.
 * Without a node, the node IDs of the proxies connected over xDS (ADS); with one, the xDS resources
 * the control plane holds for it as Envoy's {@code /config_dump} shows them.
 */
@Command(
        name = "config-dump",
        mixinStandardHelpOptions = true,
        description = {
            "Without NODE: the node IDs of the proxies connected over xDS (ADS).",
            "With NODE: the xDS resources the control plane holds for it, as JSON with Envoy's field names and @type (Envoy's /config_dump)."
        })
public final class ConfigDumpCommand implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(
            index = "0",
            arity = "0..1",
            paramLabel = "NODE",
            description =
                    "An Envoy node ID, e.g. router~10.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local")
    String node;

    @CommandLine.Mixin AdminEndpoint admin = new AdminEndpoint();

    @Override
    public Integer call() {
        String address = admin.address();
        String path =
                "/debug/config_dump"
                        + (node == null
                                ? ""
                                : "?node=" + URLEncoder.encode(node, StandardCharsets.UTF_8));
        HttpResponse<String> r = AdminEndpoint.get(address, path);
        if (r.statusCode() == 404) {
            throw new Cli.UserException(
                    r.body().strip()
                            + (node == null
                                    ? " (is this control plane older than the xDS server?)"
                                    : "; `mithril controlplane config-dump` lists the connected nodes"));
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(r.body());
        out.flush();
        return 0;
    }
}
