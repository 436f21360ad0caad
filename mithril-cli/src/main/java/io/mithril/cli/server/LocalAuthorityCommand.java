package io.mithril.cli.server;

import com.google.protobuf.Message;
import io.mithril.api.localauthority.ActivateJWTAuthorityRequest;
import io.mithril.api.localauthority.ActivateJWTAuthorityResponse;
import io.mithril.api.localauthority.ActivateX509AuthorityRequest;
import io.mithril.api.localauthority.ActivateX509AuthorityResponse;
import io.mithril.api.localauthority.AuthorityState;
import io.mithril.api.localauthority.GetJWTAuthorityStateRequest;
import io.mithril.api.localauthority.GetJWTAuthorityStateResponse;
import io.mithril.api.localauthority.GetX509AuthorityStateRequest;
import io.mithril.api.localauthority.GetX509AuthorityStateResponse;
import io.mithril.api.localauthority.LocalAuthorityServiceGrpc.LocalAuthorityServiceBlockingStub;
import io.mithril.api.localauthority.PrepareJWTAuthorityRequest;
import io.mithril.api.localauthority.PrepareJWTAuthorityResponse;
import io.mithril.api.localauthority.PrepareX509AuthorityRequest;
import io.mithril.api.localauthority.PrepareX509AuthorityResponse;
import io.mithril.api.localauthority.RevokeJWTAuthorityRequest;
import io.mithril.api.localauthority.RevokeJWTAuthorityResponse;
import io.mithril.api.localauthority.RevokeX509AuthorityRequest;
import io.mithril.api.localauthority.RevokeX509AuthorityResponse;
import io.mithril.api.localauthority.TaintJWTAuthorityRequest;
import io.mithril.api.localauthority.TaintJWTAuthorityResponse;
import io.mithril.api.localauthority.TaintX509AuthorityRequest;
import io.mithril.api.localauthority.TaintX509AuthorityResponse;
import io.mithril.cli.Cli;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mithril server localauthority x509|jwt show|prepare|activate|taint|revoke}, as
 * spire-server's: the same flags ({@code -authorityID}, {@code -socketPath}, {@code -output
 * pretty|json}), the same text, through the LocalAuthority API on the admin socket. The rules (what
 * may be activated, tainted, revoked) are the server's: see docs/ca.md.
 */
@Command(
        name = "localauthority",
        mixinStandardHelpOptions = true,
        description = "Manages the server's own signing authorities (X.509 CAs, JWT keys).",
        subcommands = {LocalAuthorityCommand.X509.class, LocalAuthorityCommand.Jwt.class})
final class LocalAuthorityCommand extends UsageOnly {

    @Command(
            name = "x509",
            mixinStandardHelpOptions = true,
            description = "The X.509 CAs.",
            subcommands = {
                X509Show.class,
                X509Prepare.class,
                X509Activate.class,
                X509Taint.class,
                X509Revoke.class
            })
    static final class X509 extends UsageOnly {}

    @Command(
            name = "jwt",
            mixinStandardHelpOptions = true,
            description = "The JWT signing keys.",
            subcommands = {
                JwtShow.class,
                JwtPrepare.class,
                JwtActivate.class,
                JwtTaint.class,
                JwtRevoke.class
            })
    static final class Jwt extends UsageOnly {}

    /** Go's {@code time.Time.String()} of a UTC time, as spire-server prints "Expires at". */
    private static final DateTimeFormatter GO_UTC =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss '+0000 UTC'").withZone(ZoneOffset.UTC);

    /** SPIRE's {@code PrettyPrintX509AuthorityState} / {@code PrettyPrintJWTAuthorityState}. */
    static void printState(PrintWriter out, AuthorityState s, boolean x509) {
        out.println("  Authority ID: " + s.getAuthorityId());
        out.println("  Expires at: " + GO_UTC.format(Instant.ofEpochSecond(s.getExpiresAt())));
        if (!x509) {
            return;
        }
        if (!s.getUpstreamAuthoritySubjectKeyId().isEmpty()) {
            out.println(
                    "  Upstream authority Subject Key ID: " + s.getUpstreamAuthoritySubjectKeyId());
        } else {
            out.println("  Upstream authority ID: No upstream authority");
        }
    }

    /** SPIRE's three sections of {@code show}. */
    static void printSlots(
            PrintWriter out,
            String kind,
            boolean x509,
            AuthorityState active,
            AuthorityState prepared,
            AuthorityState old) {
        String[] names = {"Active", "Prepared", "Old"};
        AuthorityState[] states = {active, prepared, old};
        for (int i = 0; i < 3; i++) {
            out.println(names[i] + " " + kind + " authority:");
            if (states[i] != null) {
                printState(out, states[i], x509);
            } else {
                out.println("  No " + names[i].toLowerCase() + " " + kind + " authority found");
            }
            if (i < 2) {
                out.println();
            }
        }
    }

    /**
     * One call of the LocalAuthority API, printed pretty (SPIRE's text) or as JSON (SPIRE's field
     * names). A refusal prints {@code Error: could not <verb> ...: <the server's reason>}.
     */
    abstract static class Call<R extends Message> implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @Option(
                names = {"-output", "--output"},
                paramLabel = "pretty|json",
                description = "Desired output format (pretty, json; default: ${DEFAULT-VALUE}).")
        String output = "pretty";

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        /** "could not prepare X.509 authority", as SPIRE words the failure. */
        abstract String failure();

        /** Checks the flags before any call; throws a {@link Cli.UserException}. */
        void validate() {}

        abstract R send(LocalAuthorityServiceBlockingStub api);

        abstract void pretty(PrintWriter out, R response);

        @Override
        public Integer call() {
            if (!output.equals("pretty") && !output.equals("json")) {
                throw new Cli.UserException(
                        "-output: unknown format \"" + output + "\" (pretty or json)");
            }
            validate();
            R r;
            try {
                r = admin.call(c -> send(c.localAuthority()));
            } catch (Cli.UserException e) {
                throw new Cli.UserException(failure() + ": " + e.getMessage(), e);
            }
            PrintWriter out = spec.commandLine().getOut();
            if (output.equals("json")) {
                out.println(json(r));
            } else {
                pretty(out, r);
            }
            out.flush();
            return 0;
        }
    }

    static String json(Message m) {
        try {
            return com.google.protobuf.util.JsonFormat.printer()
                    .preservingProtoFieldNames()
                    .includingDefaultValueFields()
                    .omittingInsignificantWhitespace()
                    .print(m);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A verb on one authority: {@code -authorityID} is required. */
    abstract static class OnAuthority<R extends Message> extends Call<R> {
        @Option(
                names = {"-authorityID", "--authorityID"},
                paramLabel = "ID",
                description = "The authority ID (a CA's Subject Key ID in hex, a JWT key's kid).")
        String authorityId = "";

        @Override
        void validate() {
            if (authorityId.isEmpty()) {
                throw new Cli.UserException("an authority ID is required");
            }
        }
    }

    // ------------------------------------------------------------------ x509

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows the local X.509 authorities.")
    static final class X509Show extends Call<GetX509AuthorityStateResponse> {
        @Override
        String failure() {
            return "could not get X.509 authorities";
        }

        @Override
        GetX509AuthorityStateResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.getX509AuthorityState(GetX509AuthorityStateRequest.getDefaultInstance());
        }

        @Override
        void pretty(PrintWriter out, GetX509AuthorityStateResponse r) {
            printSlots(
                    out,
                    "X.509",
                    true,
                    r.hasActive() ? r.getActive() : null,
                    r.hasPrepared() ? r.getPrepared() : null,
                    r.hasOld() ? r.getOld() : null);
        }
    }

    @Command(
            name = "prepare",
            mixinStandardHelpOptions = true,
            description =
                    "Prepares a new X.509 authority for use by generating a new key and injecting the resulting CA certificate into the bundle.")
    static final class X509Prepare extends Call<PrepareX509AuthorityResponse> {
        @Override
        String failure() {
            return "could not prepare X.509 authority";
        }

        @Override
        PrepareX509AuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.prepareX509Authority(PrepareX509AuthorityRequest.getDefaultInstance());
        }

        @Override
        void pretty(PrintWriter out, PrepareX509AuthorityResponse r) {
            out.println("Prepared X.509 authority:");
            printState(out, r.getPreparedAuthority(), true);
        }
    }

    @Command(
            name = "activate",
            mixinStandardHelpOptions = true,
            description =
                    "Activates a prepared X.509 authority for use, which will cause it to be used for all X.509 signing operations serviced by this server going forward.")
    static final class X509Activate extends OnAuthority<ActivateX509AuthorityResponse> {
        @Override
        String failure() {
            return "could not activate X.509 authority";
        }

        @Override
        ActivateX509AuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.activateX509Authority(
                    ActivateX509AuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, ActivateX509AuthorityResponse r) {
            out.println("Activated X.509 authority:");
            printState(out, r.getActivatedAuthority(), true);
        }
    }

    @Command(
            name = "taint",
            mixinStandardHelpOptions = true,
            description = "Marks the previously active X.509 authority as being tainted.")
    static final class X509Taint extends OnAuthority<TaintX509AuthorityResponse> {
        @Override
        String failure() {
            return "could not taint X.509 authority";
        }

        @Override
        TaintX509AuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.taintX509Authority(
                    TaintX509AuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, TaintX509AuthorityResponse r) {
            out.println("Tainted X.509 authority:");
            printState(out, r.getTaintedAuthority(), true);
        }
    }

    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description =
                    "Revokes the previously active X.509 authority by removing it from the bundle and propagating this update throughout the cluster.")
    static final class X509Revoke extends OnAuthority<RevokeX509AuthorityResponse> {
        @Override
        String failure() {
            return "could not revoke X.509 authority";
        }

        @Override
        RevokeX509AuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.revokeX509Authority(
                    RevokeX509AuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, RevokeX509AuthorityResponse r) {
            out.println("Revoked X.509 authority:");
            printState(out, r.getRevokedAuthority(), true);
        }
    }

    // ------------------------------------------------------------------ jwt

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows the local JWT authorities.")
    static final class JwtShow extends Call<GetJWTAuthorityStateResponse> {
        @Override
        String failure() {
            return "could not get JWT authorities";
        }

        @Override
        GetJWTAuthorityStateResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.getJWTAuthorityState(GetJWTAuthorityStateRequest.getDefaultInstance());
        }

        @Override
        void pretty(PrintWriter out, GetJWTAuthorityStateResponse r) {
            printSlots(
                    out,
                    "JWT",
                    false,
                    r.hasActive() ? r.getActive() : null,
                    r.hasPrepared() ? r.getPrepared() : null,
                    r.hasOld() ? r.getOld() : null);
        }
    }

    @Command(
            name = "prepare",
            mixinStandardHelpOptions = true,
            description =
                    "Prepares a new JWT authority for use by generating a new key and injecting it into the bundle.")
    static final class JwtPrepare extends Call<PrepareJWTAuthorityResponse> {
        @Override
        String failure() {
            return "could not prepare JWT authority";
        }

        @Override
        PrepareJWTAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.prepareJWTAuthority(PrepareJWTAuthorityRequest.getDefaultInstance());
        }

        @Override
        void pretty(PrintWriter out, PrepareJWTAuthorityResponse r) {
            out.println("Prepared JWT authority:");
            printState(out, r.getPreparedAuthority(), false);
        }
    }

    @Command(
            name = "activate",
            mixinStandardHelpOptions = true,
            description =
                    "Activates a prepared JWT authority for use, which will cause it to be used for all JWT signing operations serviced by this server going forward.")
    static final class JwtActivate extends OnAuthority<ActivateJWTAuthorityResponse> {
        @Override
        String failure() {
            return "could not activate JWT authority";
        }

        @Override
        ActivateJWTAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.activateJWTAuthority(
                    ActivateJWTAuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, ActivateJWTAuthorityResponse r) {
            out.println("Activated JWT authority:");
            printState(out, r.getActivatedAuthority(), false);
        }
    }

    @Command(
            name = "taint",
            mixinStandardHelpOptions = true,
            description = "Marks the previously active JWT authority as being tainted.")
    static final class JwtTaint extends OnAuthority<TaintJWTAuthorityResponse> {
        @Override
        String failure() {
            return "could not taint JWT authority";
        }

        @Override
        TaintJWTAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.taintJWTAuthority(
                    TaintJWTAuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, TaintJWTAuthorityResponse r) {
            out.println("Tainted JWT authority:");
            printState(out, r.getTaintedAuthority(), false);
        }
    }

    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description =
                    "Revokes the previously active JWT authority by removing it from the bundle and propagating this update throughout the cluster.")
    static final class JwtRevoke extends OnAuthority<RevokeJWTAuthorityResponse> {
        @Override
        String failure() {
            return "could not revoke JWT authority";
        }

        @Override
        RevokeJWTAuthorityResponse send(LocalAuthorityServiceBlockingStub api) {
            return api.revokeJWTAuthority(
                    RevokeJWTAuthorityRequest.newBuilder().setAuthorityId(authorityId).build());
        }

        @Override
        void pretty(PrintWriter out, RevokeJWTAuthorityResponse r) {
            out.println("Revoked JWT authority:");
            printState(out, r.getRevokedAuthority(), false);
        }
    }
}
