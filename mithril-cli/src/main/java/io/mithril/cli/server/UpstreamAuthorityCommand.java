package io.mithril.cli.server;

import io.mithril.api.localauthority.LocalAuthorityServiceGrpc.LocalAuthorityServiceBlockingStub;
import io.mithril.api.localauthority.RevokeX509UpstreamAuthorityRequest;
import io.mithril.api.localauthority.RevokeX509UpstreamAuthorityResponse;
import io.mithril.api.localauthority.TaintX509UpstreamAuthorityRequest;
import io.mithril.api.localauthority.TaintX509UpstreamAuthorityResponse;
import io.mithril.cli.Cli;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code mithril server upstreamauthority taint|revoke -subjectKeyID ID}, as spire-server's: the
 * upstream root that signed the server's old CA is tainted, then removed from the bundle. Unlike
 * SPIRE, revoking works with the {@code disk} UpstreamAuthority too (spiffe/spire#6198).
 */
@Command(
        name = "upstreamauthority",
        mixinStandardHelpOptions = true,
        description = "Manages the upstream authority that signs the server's CAs.",
        subcommands = {UpstreamAuthorityCommand.Taint.class, UpstreamAuthorityCommand.Revoke.class})
final class UpstreamAuthorityCommand extends UsageOnly {

    /** {@code -subjectKeyID} is required. */
    abstract static class OnUpstream<R extends com.google.protobuf.Message>
            extends LocalAuthorityCommand.Call<R> {
        @Option(
                names = {"-subjectKeyID", "--subjectKeyID"},
                paramLabel = "SKID",
                description =
                        "The X.509 Subject Key Identifier (or SKID) of the upstream authority's CA certificate.")
        String subjectKeyId = "";

        @Override
        void validate() {
            if (subjectKeyId.isEmpty()) {
                throw new Cli.UserException(
                        "the Subject Key ID of the X.509 upstream authority is required");
            }
        }
    }

    @Command(
            name = "taint",
            mixinStandardHelpOptions = true,
            description = "Marks the provided X.509 upstream authority as being tainted.")
    static final class Taint extends OnUpstream<TaintX509UpstreamAuthorityResponse> {
        @Override
        String failure() {
            return "could not taint X.509 upstream authority";
        }

        @Override
        TaintX509UpstreamAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.taintX509UpstreamAuthority(
                    TaintX509UpstreamAuthorityRequest.newBuilder()
                            .setSubjectKeyId(subjectKeyId)
                            .build());
        }

        @Override
        void pretty(PrintWriter out, TaintX509UpstreamAuthorityResponse r) {
            out.println("Tainted X.509 upstream authority:");
            out.println("  Subject Key ID: " + r.getUpstreamAuthoritySubjectKeyId());
        }
    }

    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description =
                    "Revokes the previously active X.509 upstream authority by removing it from the bundle and propagating this update throughout the cluster.")
    static final class Revoke extends OnUpstream<RevokeX509UpstreamAuthorityResponse> {
        @Override
        String failure() {
            return "could not revoke X.509 upstream authority";
        }

        @Override
        RevokeX509UpstreamAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.revokeX509UpstreamAuthority(
                    RevokeX509UpstreamAuthorityRequest.newBuilder()
                            .setSubjectKeyId(subjectKeyId)
                            .build());
        }

        @Override
        void pretty(PrintWriter out, RevokeX509UpstreamAuthorityResponse r) {
            out.println("Revoked X.509 upstream authority:");
            out.println("  Subject Key ID: " + r.getUpstreamAuthoritySubjectKeyId());
        }
    }
}
