package io.mithril.server.datastore;

import io.mithril.api.selector.Selector;
import io.mithril.spiffe.id.SpiffeId;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which entries to list; null or empty fields match everything.
 *
 * @param spiffeId only entries with this SPIFFE ID
 * @param parentId only entries with this parent ID
 * @param selectors only entries whose selectors relate to these as {@code match} says
 * @param match how selectors are compared (SPIRE's -matchSelectorsOn)
 */
public record EntryFilter(
        SpiffeId spiffeId, SpiffeId parentId, List<Selector> selectors, Match match) {

    /** SPIRE's selector match modes. */
    public enum Match {
        /** The entry's selectors are exactly the given ones. */
        EXACT,
        /** The entry's selectors are a subset of the given ones. */
        SUBSET,
        /** The entry's selectors include all the given ones. */
        SUPERSET,
        /** The entry has at least one of the given selectors. */
        ANY
    }

    public static final EntryFilter ALL = new EntryFilter(null, null, List.of(), Match.SUPERSET);

    public EntryFilter {
        selectors = selectors == null ? List.of() : List.copyOf(selectors);
        match = match == null ? Match.SUPERSET : match;
    }

    /** Whether an entry with these selectors passes the selector part of the filter. */
    public boolean selectorsMatch(List<Selector> entrySelectors) {
        if (selectors.isEmpty()) {
            return true;
        }
        Set<Selector> want = new HashSet<>(selectors);
        Set<Selector> have = new HashSet<>(entrySelectors);
        return switch (match) {
            case EXACT -> want.equals(have);
            case SUBSET -> want.containsAll(have);
            case SUPERSET -> have.containsAll(want);
            case ANY -> have.stream().anyMatch(want::contains);
        };
    }
}
