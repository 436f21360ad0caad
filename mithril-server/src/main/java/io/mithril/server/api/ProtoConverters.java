package io.mithril.server.api;

import com.google.protobuf.ByteString;
import io.mithril.api.selector.Selector;
import io.mithril.api.types.Agent;
import io.mithril.api.types.Entry;
import io.mithril.api.types.X509Svid;
import io.mithril.server.datastore.AttestedNode;
import io.mithril.server.entry.InvalidEntryException;
import io.mithril.server.entry.RegistrationEntry;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** Conversions between the server's values and the API messages ({@code mithril.types.v1}). */
public final class ProtoConverters {

    private ProtoConverters() {}

    public static Entry toProto(RegistrationEntry e) {
        Entry.Builder b =
                Entry.newBuilder()
                        .setId(e.id())
                        .setSpiffeId(e.spiffeId().toString())
                        .setParentId(e.parentId().toString())
                        .setX509SvidTtl(e.x509SvidTtlSeconds())
                        .setJwtSvidTtl(e.jwtSvidTtlSeconds())
                        .addAllDnsNames(e.dnsNames())
                        .addAllFederatesWith(e.federatesWith())
                        .setAdmin(e.admin())
                        .setDownstream(e.downstream())
                        .setHint(e.hint())
                        .setRevisionNumber(e.revisionNumber())
                        .setExpiresAt(e.expiresAt())
                        .setCreatedAt(e.createdAt());
        for (Selector s : e.selectors()) {
            b.addSelectors(toProto(s));
        }
        return b.build();
    }

    public static io.mithril.api.types.Selector toProto(Selector s) {
        return io.mithril.api.types.Selector.newBuilder()
                .setType(s.type())
                .setValue(s.value())
                .build();
    }

    /**
     * @throws InvalidEntryException when the selector is malformed
     */
    public static Selector fromProto(io.mithril.api.types.Selector s) {
        try {
            return new Selector(s.getType(), s.getValue());
        } catch (IllegalArgumentException e) {
            throw new InvalidEntryException(e.getMessage());
        }
    }

    /**
     * @throws InvalidEntryException naming the field when an ID or selector is malformed
     */
    public static RegistrationEntry fromProto(Entry e) {
        List<Selector> sels = new ArrayList<>();
        for (io.mithril.api.types.Selector s : e.getSelectorsList()) {
            sels.add(fromProto(s));
        }
        return new RegistrationEntry(
                e.getId(),
                spiffeId("spiffe_id", e.getSpiffeId()),
                spiffeId("parent_id", e.getParentId()),
                sels,
                e.getX509SvidTtl(),
                e.getJwtSvidTtl(),
                e.getDnsNamesList(),
                e.getFederatesWithList(),
                e.getAdmin(),
                e.getDownstream(),
                e.getHint(),
                e.getRevisionNumber(),
                e.getExpiresAt(),
                e.getCreatedAt());
    }

    public static SpiffeId spiffeId(String field, String value) {
        try {
            return SpiffeId.parse(value);
        } catch (InvalidSpiffeIdException ex) {
            throw new InvalidEntryException(field + " " + ex.getMessage());
        }
    }

    public static Agent toProto(AttestedNode n) {
        Agent.Builder b =
                Agent.newBuilder()
                        .setSpiffeId(n.spiffeId().toString())
                        .setAttestationType(n.attestationType())
                        .setX509SvidSerial(n.serialNumber())
                        .setX509SvidExpiresAt(n.expiresAt())
                        .setBanned(n.banned())
                        // join_token is trust on first use: its token is spent, the agent cannot
                        // attest again with it.
                        .setCanReattest(!"join_token".equals(n.attestationType()));
        for (Selector s : n.selectors()) {
            b.addSelectors(toProto(s));
        }
        return b.build();
    }

    public static X509Svid toProto(SpiffeId id, List<X509Certificate> chain) {
        X509Svid.Builder b =
                X509Svid.newBuilder()
                        .setSpiffeId(id.toString())
                        .setExpiresAt(chain.get(0).getNotAfter().toInstant().getEpochSecond());
        for (X509Certificate c : chain) {
            try {
                b.addCertChain(ByteString.copyFrom(c.getEncoded()));
            } catch (CertificateEncodingException ex) {
                throw new IllegalStateException(ex);
            }
        }
        return b.build();
    }
}
