package io.mithril.cli.server;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import java.io.PrintWriter;
import java.time.Instant;

/**
 * Prints entries the way spire-server does ({@code Entry ID : ...}), or as JSON for {@code -output
 * json}.
 */
final class EntryPrinter {

    private EntryPrinter() {}

    static void print(PrintWriter out, Entry e) {
        line(out, "Entry ID", e.getId());
        line(out, "SPIFFE ID", e.getSpiffeId());
        line(out, "Parent ID", e.getParentId());
        line(out, "Revision", Long.toString(e.getRevisionNumber()));
        if (e.getDownstream()) {
            line(out, "Downstream", "true");
        }
        line(
                out,
                "X509-SVID TTL",
                e.getX509SvidTtl() == 0 ? "default" : Integer.toString(e.getX509SvidTtl()));
        line(
                out,
                "JWT-SVID TTL",
                e.getJwtSvidTtl() == 0 ? "default" : Integer.toString(e.getJwtSvidTtl()));
        if (e.getExpiresAt() != 0) {
            line(out, "Expiration time", Instant.ofEpochSecond(e.getExpiresAt()).toString());
        }
        for (Selector s : e.getSelectorsList()) {
            line(out, "Selector", s.getType() + ":" + s.getValue());
        }
        for (String f : e.getFederatesWithList()) {
            line(out, "FederatesWith", f);
        }
        for (String d : e.getDnsNamesList()) {
            line(out, "DNS name", d);
        }
        if (e.getAdmin()) {
            line(out, "Admin", "true");
        }
        if (!e.getHint().isEmpty()) {
            line(out, "Hint", e.getHint());
        }
        out.println();
    }

    static void line(PrintWriter out, String label, String value) {
        out.printf("%-17s: %s%n", label, value);
    }

    static String json(MessageOrBuilder m) {
        try {
            return JsonFormat.printer().preservingProtoFieldNames().print(m);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }
}
