package io.mithril.agent.testing;

import io.mithril.api.workload.client.WorkloadApiClient;
import io.mithril.api.workload.client.WorkloadApiException;
import io.mithril.api.workload.client.X509Context;
import java.time.Duration;

/**
 * A tiny workload: fetches its X.509 context from the socket given as argument and prints {@code ID
 * <spiffe id>} per SVID, or {@code STATUS <grpc code>} on failure.
 */
public final class FetchIdentityMain {
    public static void main(String[] args) {
        try (WorkloadApiClient c = WorkloadApiClient.connect(args[0])) {
            X509Context ctx = c.fetchX509Context(Duration.ofSeconds(20));
            for (X509Context.Svid s : ctx.svids()) {
                System.out.println("ID " + s.spiffeId());
            }
        } catch (WorkloadApiException e) {
            System.out.println("STATUS " + e.code());
            System.err.println(e.getMessage());
        }
    }
}
