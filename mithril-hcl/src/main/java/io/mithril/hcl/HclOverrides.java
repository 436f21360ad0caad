package io.mithril.hcl;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Command-line overrides of a configuration block, as SPIRE's {@code run} applies its flags ({@code
 * -dataDir}, {@code -serverPort}, {@code -trustBundle}, ...) over the file: each set flag replaces
 * the key in the block before the configuration is built, so a flag's value gets the same checks as
 * the file's, and an error about it names the flag ({@code -serverPort flag: server_port 70000 is
 * not a port number}).
 */
public final class HclOverrides {

    private final Map<String, HclEntry> values = new LinkedHashMap<>();

    /** Sets {@code key} from {@code flag} when {@code value} is not null. */
    public HclOverrides string(String key, String flag, String value) {
        if (value != null) {
            Position at = Position.ofSource(flag + " flag");
            values.put(key, new HclEntry(key, List.of(), new HclString(value, at), at));
        }
        return this;
    }

    /** Sets {@code key} from {@code flag} when {@code value} is not null. */
    public HclOverrides number(String key, String flag, Long value) {
        if (value != null) {
            Position at = Position.ofSource(flag + " flag");
            values.put(
                    key,
                    new HclEntry(
                            key,
                            List.of(),
                            new HclNumber(
                                    java.math.BigDecimal.valueOf(value), value.toString(), at),
                            at));
        }
        return this;
    }

    /**
     * Sets {@code key} from {@code flag} when {@code value} is true (a flag that can only turn a
     * setting on).
     */
    public HclOverrides flag(String key, String flag, boolean value) {
        if (value) {
            Position at = Position.ofSource(flag + " flag");
            values.put(key, new HclEntry(key, List.of(), new HclBool(true, at), at));
        }
        return this;
    }

    /** Whether no override is set. */
    public boolean isEmpty() {
        return values.isEmpty();
    }

    /**
     * {@code doc} with the overridden keys of its {@code block} block replaced (the block is
     * created if absent).
     */
    public HclObject applyTo(HclObject doc, String block) {
        if (values.isEmpty()) {
            return doc;
        }
        List<HclEntry> top = new ArrayList<>();
        boolean found = false;
        for (HclEntry e : doc.entries()) {
            if (!found && e.key().equals(block) && e.value() instanceof HclObject body) {
                found = true;
                top.add(new HclEntry(e.key(), e.labels(), override(body), e.position()));
            } else {
                top.add(e);
            }
        }
        if (!found) {
            top.add(
                    new HclEntry(
                            block,
                            List.of(),
                            override(new HclObject(List.of(), doc.position())),
                            doc.position()));
        }
        return new HclObject(top, doc.position());
    }

    private HclObject override(HclObject body) {
        List<HclEntry> entries = new ArrayList<>();
        for (HclEntry e : body.entries()) {
            if (!values.containsKey(e.key())) {
                entries.add(e);
            }
        }
        entries.addAll(values.values());
        return new HclObject(entries, body.position());
    }
}
