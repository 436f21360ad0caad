package io.mithril.server.entry;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.InvalidSpiffeIdException;
import io.mithril.spiffe.id.SpiffeId;
import io.mithril.spiffe.id.TrustDomain;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * A registration entry, with SPIRE's fields: the workload (or node alias) identity {@code
 * spiffeId}, issued to workloads matching {@code selectors} on agents that are {@code parentId} (or
 * are aliased by it).
 *
 * @param id entry ID; empty until the datastore assigns one
 * @param spiffeId the identity to issue
 * @param parentId the agent, node alias or server ID under which the entry is served
 * @param selectors at least one; stored sorted and de-duplicated
 * @param x509SvidTtlSeconds 0 means the server default
 * @param jwtSvidTtlSeconds 0 means the server default
 * @param dnsNames DNS SANs for the X509-SVID
 * @param federatesWith trust domain names whose bundles the workload receives
 * @param admin whether the identity may call the admin API (kept for SPIRE compatibility)
 * @param downstream whether the identity may mint a downstream CA (kept for SPIRE compatibility)
 * @param hint the Workload API hint
 * @param revisionNumber incremented on every update
 * @param expiresAt unix seconds; 0 never
 * @param createdAt unix seconds
 */
public record RegistrationEntry(
        String id,
        SpiffeId spiffeId,
        SpiffeId parentId,
        List<Selector> selectors,
        int x509SvidTtlSeconds,
        int jwtSvidTtlSeconds,
        List<String> dnsNames,
        List<String> federatesWith,
        boolean admin,
        boolean downstream,
        String hint,
        long revisionNumber,
        long expiresAt,
        long createdAt) {

    public RegistrationEntry {
        id = id == null ? "" : id;
        Objects.requireNonNull(spiffeId, "spiffeId");
        Objects.requireNonNull(parentId, "parentId");
        selectors = List.copyOf(new TreeSet<>(selectors));
        dnsNames = List.copyOf(dnsNames);
        federatesWith = List.copyOf(federatesWith);
        hint = hint == null ? "" : hint;
    }

    /** A new entry with only the required fields (ID, TTLs and timestamps assigned on creation). */
    public static RegistrationEntry of(
            SpiffeId spiffeId, SpiffeId parentId, List<Selector> selectors) {
        return new RegistrationEntry(
                "", spiffeId, parentId, selectors, 0, 0, List.of(), List.of(), false, false, "", 0,
                0, 0);
    }

    public RegistrationEntry withId(String newId) {
        return new RegistrationEntry(
                newId,
                spiffeId,
                parentId,
                selectors,
                x509SvidTtlSeconds,
                jwtSvidTtlSeconds,
                dnsNames,
                federatesWith,
                admin,
                downstream,
                hint,
                revisionNumber,
                expiresAt,
                createdAt);
    }

    public RegistrationEntry withRevision(long revision, long created) {
        return new RegistrationEntry(
                id,
                spiffeId,
                parentId,
                selectors,
                x509SvidTtlSeconds,
                jwtSvidTtlSeconds,
                dnsNames,
                federatesWith,
                admin,
                downstream,
                hint,
                revision,
                expiresAt,
                created);
    }

    public RegistrationEntry withX509SvidTtl(int seconds) {
        return new RegistrationEntry(
                id,
                spiffeId,
                parentId,
                selectors,
                seconds,
                jwtSvidTtlSeconds,
                dnsNames,
                federatesWith,
                admin,
                downstream,
                hint,
                revisionNumber,
                expiresAt,
                createdAt);
    }

    /** This entry federating with the named trust domains (its workloads get their bundles). */
    public RegistrationEntry withFederatesWith(List<String> trustDomains) {
        return new RegistrationEntry(
                id,
                spiffeId,
                parentId,
                selectors,
                x509SvidTtlSeconds,
                jwtSvidTtlSeconds,
                dnsNames,
                trustDomains,
                admin,
                downstream,
                hint,
                revisionNumber,
                expiresAt,
                createdAt);
    }

    public RegistrationEntry withDnsNames(List<String> names) {
        return new RegistrationEntry(
                id,
                spiffeId,
                parentId,
                selectors,
                x509SvidTtlSeconds,
                jwtSvidTtlSeconds,
                names,
                federatesWith,
                admin,
                downstream,
                hint,
                revisionNumber,
                expiresAt,
                createdAt);
    }

    /**
     * Checks the entry against the server's trust domain: both IDs are in {@code td}, the SPIFFE ID
     * has a path and is not a reserved agent/server ID, at least one selector, non-negative TTLs,
     * federated trust domains are valid names and not {@code td} itself.
     *
     * @throws InvalidEntryException naming the field and the bad value
     */
    public RegistrationEntry validate(TrustDomain td) {
        if (!spiffeId.memberOf(td)) {
            throw new InvalidEntryException(
                    "spiffe_id \"" + spiffeId + "\" is not in trust domain \"" + td + "\"");
        }
        if (spiffeId.isTrustDomainId()) {
            throw new InvalidEntryException(
                    "spiffe_id \"" + spiffeId + "\" has no path: an entry's SPIFFE ID needs one");
        }
        if (spiffeId.path().startsWith("/spire/server")) {
            throw new InvalidEntryException(
                    "spiffe_id \"" + spiffeId + "\" is reserved for the server");
        }
        if (!parentId.memberOf(td)) {
            throw new InvalidEntryException(
                    "parent_id \"" + parentId + "\" is not in trust domain \"" + td + "\"");
        }
        if (selectors.isEmpty()) {
            throw new InvalidEntryException(
                    "entry for \""
                            + spiffeId
                            + "\" has no selectors: give at least one (e.g. -selector unix:uid:1000)");
        }
        if (x509SvidTtlSeconds < 0 || jwtSvidTtlSeconds < 0) {
            throw new InvalidEntryException(
                    "entry TTLs must not be negative (x509_svid_ttl "
                            + x509SvidTtlSeconds
                            + ", jwt_svid_ttl "
                            + jwtSvidTtlSeconds
                            + ")");
        }
        for (String dns : dnsNames) {
            if (dns.isEmpty()
                    || !dns.matches(
                            "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")) {
                throw new InvalidEntryException("dns_name \"" + dns + "\" is not a valid DNS name");
            }
        }
        for (String f : federatesWith) {
            TrustDomain other;
            try {
                other = TrustDomain.parseName(f);
            } catch (InvalidSpiffeIdException e) {
                throw new InvalidEntryException("federates_with " + e.getMessage());
            }
            if (other.equals(td)) {
                throw new InvalidEntryException(
                        "federates_with \"" + f + "\" is the server's own trust domain");
            }
        }
        return this;
    }

    /** The selectors as {@code type:value} strings. */
    public List<String> selectorStrings() {
        List<String> out = new ArrayList<>();
        for (Selector s : selectors) {
            out.add(s.toString());
        }
        return out;
    }
}
