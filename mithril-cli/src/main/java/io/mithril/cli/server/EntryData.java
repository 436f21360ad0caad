package io.mithril.cli.server;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mithril.api.types.Entry;
import io.mithril.api.types.Selector;
import io.mithril.cli.Cli;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * SPIRE's registration JSON, as {@code spire-server entry create -data FILE} reads it: {@code
 * {"entries": [{"spiffe_id": .., "parent_id": .., "selectors": [{"type": .., "value": ..}],
 * "x509_svid_ttl": .., "jwt_svid_ttl": .., "federates_with": [..], "dns_names": [..], "admin": ..,
 * "downstream": .., "entry_id": .., "entryExpiry": .., "hint": ..}]}} (SPIRE's {@code
 * common.RegistrationEntries}). Unknown keys and wrong types are errors naming the entry and key.
 */
final class EntryData {

    private static final Set<String> KEYS =
            Set.of(
                    "spiffe_id",
                    "parent_id",
                    "selectors",
                    "x509_svid_ttl",
                    "jwt_svid_ttl",
                    "federates_with",
                    "dns_names",
                    "admin",
                    "downstream",
                    "entry_id",
                    "entryExpiry",
                    "hint",
                    "store_svid",
                    "ttl",
                    "revision_number",
                    "created_at");

    private EntryData() {}

    static List<Entry> parse(String json, String source) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new Cli.UserException(
                    source
                            + (at == null ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr())
                            + ": not valid JSON: "
                            + e.getOriginalMessage());
        }
        if (root == null || !root.isObject() || !root.path("entries").isArray()) {
            throw new Cli.UserException(source + ": expected {\"entries\": [ ... ]}");
        }
        List<Entry> out = new ArrayList<>();
        int i = 0;
        for (JsonNode e : root.get("entries")) {
            String where = source + ": entries[" + i++ + "]";
            if (!e.isObject()) {
                throw new Cli.UserException(where + ": expected an object");
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = e.fields(); it.hasNext(); ) {
                String k = it.next().getKey();
                if (!KEYS.contains(k)) {
                    throw new Cli.UserException(
                            where
                                    + ": unknown key \""
                                    + k
                                    + "\" (known: "
                                    + String.join(", ", KEYS.stream().sorted().toList())
                                    + ")");
                }
            }
            if (e.path("store_svid").asBoolean(false)) {
                throw new Cli.UserException(
                        where + ": store_svid is not supported (Mithril has no SVIDStore plugins)");
            }
            Entry.Builder b =
                    Entry.newBuilder()
                            .setSpiffeId(text(e, "spiffe_id", where))
                            .setParentId(text(e, "parent_id", where));
            if (e.has("entry_id")) {
                b.setId(text(e, "entry_id", where));
            }
            JsonNode selectors = e.path("selectors");
            if (!selectors.isArray() || selectors.isEmpty()) {
                throw new Cli.UserException(
                        where
                                + ": at least one selector is required (\"selectors\": [{\"type\": \"unix\", \"value\": \"uid:1000\"}])");
            }
            for (JsonNode s : selectors) {
                b.addSelectors(
                        Selector.newBuilder()
                                .setType(text(s, "type", where + ".selectors"))
                                .setValue(text(s, "value", where + ".selectors")));
            }
            int x509 = integer(e, "x509_svid_ttl", where);
            b.setX509SvidTtl(x509 != 0 ? x509 : integer(e, "ttl", where));
            b.setJwtSvidTtl(integer(e, "jwt_svid_ttl", where));
            b.addAllFederatesWith(strings(e, "federates_with", where));
            b.addAllDnsNames(strings(e, "dns_names", where));
            b.setAdmin(bool(e, "admin", where)).setDownstream(bool(e, "downstream", where));
            if (e.has("entryExpiry")) {
                if (!e.get("entryExpiry").canConvertToLong()) {
                    throw new Cli.UserException(
                            where + ": \"entryExpiry\" must be seconds since the epoch");
                }
                b.setExpiresAt(e.get("entryExpiry").asLong());
            }
            if (e.has("hint")) {
                b.setHint(text(e, "hint", where));
            }
            out.add(b.build());
        }
        return out;
    }

    private static String text(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) {
            throw new Cli.UserException(where + ": \"" + key + "\" must be a non-empty string");
        }
        return v.asText();
    }

    private static int integer(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null) {
            return 0;
        }
        if (!v.canConvertToInt() || v.asInt() < 0) {
            throw new Cli.UserException(
                    where + ": \"" + key + "\" must be a non-negative number of seconds");
        }
        return v.asInt();
    }

    private static boolean bool(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new Cli.UserException(where + ": \"" + key + "\" must be true or false");
        }
        return v.asBoolean();
    }

    private static List<String> strings(JsonNode n, String key, String where) {
        JsonNode v = n.get(key);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            throw new Cli.UserException(where + ": \"" + key + "\" must be a list of strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode s : v) {
            if (!s.isTextual()) {
                throw new Cli.UserException(where + ": \"" + key + "\" must be a list of strings");
            }
            out.add(s.asText());
        }
        return out;
    }
}
