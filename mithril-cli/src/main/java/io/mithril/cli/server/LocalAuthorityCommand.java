package io.mithril.cli.server;

import io.mithril.api.admin.JwtAuthority;
import io.mithril.api.admin.ListJwtAuthoritiesRequest;
import io.mithril.api.admin.ListX509AuthoritiesRequest;
import io.mithril.api.admin.X509Authority;
import io.mithril.pki.Certificates;
import io.mithril.server.api.admin.AdminClient;
import java.io.PrintWriter;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bouncycastle.asn1.ASN1OctetString;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code mithril server localauthority x509 show | jwt show}, as spire-server's: the server's own
 * authorities in the slots active, prepared and old. Read-only (SPIRE's prepare, activate, taint
 * and revoke are not offered: the server rotates by its schedule).
 */
@Command(
        name = "localauthority",
        mixinStandardHelpOptions = true,
        description = "Shows the server's own signing authorities.",
        subcommands = {LocalAuthorityCommand.X509.class, LocalAuthorityCommand.Jwt.class})
final class LocalAuthorityCommand extends UsageOnly {

    @Command(
            name = "x509",
            mixinStandardHelpOptions = true,
            description = "The X.509 CAs.",
            subcommands = X509Show.class)
    static final class X509 extends UsageOnly {}

    @Command(
            name = "jwt",
            mixinStandardHelpOptions = true,
            description = "The JWT signing keys.",
            subcommands = JwtShow.class)
    static final class Jwt extends UsageOnly {}

    /**
     * Prints SPIRE's three sections, Active, Prepared and Old, each with its lines or "No ...
     * found".
     */
    static void printSlots(PrintWriter out, String kind, Map<String, List<String>> bySlot) {
        List<String> slots = List.of("active", "prepared", "old");
        for (String slot : slots) {
            out.println(
                    Character.toUpperCase(slot.charAt(0))
                            + slot.substring(1)
                            + " "
                            + kind
                            + " authority:");
            bySlot.getOrDefault(slot, List.of("No " + slot + " " + kind + " authority found"))
                    .forEach(l -> out.println("  " + l));
            if (!slot.equals("old")) {
                out.println();
            }
        }
    }

    /** {@code show}: one admin call, printed in SPIRE's three sections. */
    abstract static class Show implements Callable<Integer> {
        @Mixin AdminOptions admin;

        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        abstract String kind();

        /** The lines of each slot the server reports, by slot name. */
        abstract Map<String, List<String>> slots(AdminClient client);

        @Override
        public Integer call() {
            printSlots(spec.commandLine().getOut(), kind(), admin.call(this::slots));
            return 0;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows the local X.509 authorities (active, prepared, old).")
    static final class X509Show extends Show {
        @Override
        String kind() {
            return "X.509";
        }

        @Override
        Map<String, List<String>> slots(AdminClient client) {
            Map<String, List<String>> bySlot = new LinkedHashMap<>();
            for (X509Authority a :
                    client.admin()
                            .listX509Authorities(ListX509AuthoritiesRequest.getDefaultInstance())
                            .getAuthoritiesList()) {
                List<X509Certificate> chain =
                        a.getCertChainList().stream()
                                .map(b -> Certificates.parseDer(b.toByteArray()).get(0))
                                .toList();
                bySlot.putIfAbsent(
                        a.getSlot(),
                        List.of(
                                "Authority ID: " + subjectKeyId(chain.get(0)),
                                "Expires at: " + chain.get(0).getNotAfter().toInstant(),
                                chain.size() > 1
                                        ? "Upstream authority Subject Key ID: "
                                                + subjectKeyId(chain.get(1))
                                        : "Upstream authority ID: No upstream authority"));
            }
            return bySlot;
        }
    }

    @Command(
            name = "show",
            mixinStandardHelpOptions = true,
            description = "Shows the local JWT authorities (active, prepared, old).")
    static final class JwtShow extends Show {
        @Override
        String kind() {
            return "JWT";
        }

        @Override
        Map<String, List<String>> slots(AdminClient client) {
            Map<String, List<String>> bySlot = new LinkedHashMap<>();
            for (JwtAuthority a :
                    client.admin()
                            .listJwtAuthorities(ListJwtAuthoritiesRequest.getDefaultInstance())
                            .getAuthoritiesList()) {
                bySlot.putIfAbsent(
                        a.getSlot(),
                        List.of(
                                "Authority ID: " + a.getKid(),
                                "Expires at: " + Instant.ofEpochSecond(a.getNotAfter())));
            }
            return bySlot;
        }
    }

    /**
     * SPIRE's authority ID: the certificate's Subject Key Identifier, lower-case hex ("" when it
     * has none).
     */
    static String subjectKeyId(X509Certificate c) {
        byte[] ext = c.getExtensionValue("2.5.29.14");
        if (ext == null) {
            return "";
        }
        // The extension value (an OCTET STRING) holds the KeyIdentifier (another OCTET STRING).
        byte[] inner = ASN1OctetString.getInstance(ext).getOctets();
        return HexFormat.of().formatHex(ASN1OctetString.getInstance(inner).getOctets());
    }
}
