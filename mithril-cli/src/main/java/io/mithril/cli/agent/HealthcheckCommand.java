package io.mithril.cli.agent;

import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mithril agent healthcheck}: asks the agent's health service, as spire-agent does. */
@Command(
        name = "healthcheck",
        description = "Determines agent health status",
        mixinStandardHelpOptions = true)
public final class HealthcheckCommand implements Callable<Integer> {

    @Mixin SocketOption socket = new SocketOption();

    @Option(
            names = {"-shallow", "--shallow"},
            description = "Perform a less stringent health check")
    boolean shallow;

    @Option(
            names = {"-verbose", "--verbose"},
            description = "Print verbose information")
    boolean verbose;

    @Override
    public Integer call() {
        SocketOption.quietNetty();
        String address = socket.address();
        if (verbose) {
            System.out.println("Checking agent health...");
        }
        try (WorkloadApiClient client = WorkloadApiClient.connect(address)) {
            boolean healthy = client.isHealthy(Duration.ofSeconds(5));
            if (healthy || shallow) {
                System.out.println("Agent is healthy.");
                return 0;
            }
            System.err.println(
                    "Agent is unhealthy: agent is not serving (it has not synced with the server)");
            return 1;
        } catch (WorkloadApiException e) {
            if (verbose) {
                System.err.println("Failed to check health: " + e.getMessage());
            }
            System.err.println("Agent is unhealthy: unable to determine health");
            return 1;
        }
    }
}
