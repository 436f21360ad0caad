package io.mithril.controlplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.pgv.validate.Validate;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Envoy's own validation rules, read from the {@code (validate.rules)} annotations of its protos
 * (protoc-gen-validate) at run time. The envoy {@code api} artifact ships the annotations (the
 * {@code io.envoyproxy.pgv.validate} messages) but no generated {@code *Validator} classes, so this
 * walks a message, reads each field's rules reflectively and applies them by their PGV meaning; no
 * rule is written here by hand. A rule kind it does not implement is never silently passed: it is
 * listed in {@link #unchecked()}. {@code Any} fields are unpacked (through {@code types}) and
 * validated too.
 */
public final class PgvRules {

    private final com.google.protobuf.util.JsonFormat.TypeRegistry types;
    private final List<String> violations = new ArrayList<>();
    private final Set<String> unchecked = new TreeSet<>();
    private int checked;

    public PgvRules(com.google.protobuf.util.JsonFormat.TypeRegistry types) {
        this.types = types;
    }

    /** The violations in {@code m} (empty = valid). */
    public List<String> validate(Message m) {
        walk(m, m.getDescriptorForType().getName());
        return List.copyOf(violations);
    }

    /** Rule kinds seen but not implemented (field path: rule). */
    public Set<String> unchecked() {
        return unchecked;
    }

    /** How many rules were applied. */
    public int checked() {
        return checked;
    }

    private void walk(Message m, String path) {
        Descriptor d = m.getDescriptorForType();
        if (d.getOptions().getExtension(Validate.disabled)
                || d.getOptions().getExtension(Validate.ignored)) {
            return;
        }
        if (m instanceof Any any) {
            Descriptor inner =
                    types.find(any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1));
            if (inner == null) {
                violations.add(path + ": Any of unknown type " + any.getTypeUrl());
                return;
            }
            try {
                walk(
                        com.google.protobuf.DynamicMessage.parseFrom(inner, any.getValue()),
                        path + "<" + inner.getName() + ">");
            } catch (InvalidProtocolBufferException e) {
                violations.add(path + ": Any does not parse: " + e.getMessage());
            }
            return;
        }
        for (OneofDescriptor o : d.getOneofs()) {
            if (o.getOptions().getExtension(Validate.required)) {
                checked++;
                if (!m.hasOneof(o)) {
                    violations.add(path + "." + o.getName() + ": oneof is required");
                }
            }
        }
        for (FieldDescriptor f : d.getFields()) {
            String fp = path + "." + f.getName();
            if (f.getRealContainingOneof() != null && !m.hasField(f)) {
                continue; // PGV applies a oneof member's rules only when that member is set
            }
            Validate.FieldRules rules = f.getOptions().getExtension(Validate.rules);
            if (f.isMapField()) {
                List<?> entries = (List<?>) m.getField(f);
                mapRules(rules, entries.size(), fp);
                for (Object e : entries) {
                    walk((Message) e, fp + "[]");
                }
            } else if (f.isRepeated()) {
                List<?> items = (List<?>) m.getField(f);
                repeatedRules(rules, items, f, fp);
            } else {
                boolean present = f.hasPresence() ? m.hasField(f) : true;
                if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
                    messageRules(rules, present, fp);
                    if (present) {
                        Message v = (Message) m.getField(f);
                        typed(rules, v, f, fp);
                        walk(v, fp);
                    }
                } else {
                    scalar(rules, m.getField(f), f, fp);
                }
            }
        }
    }

    private void repeatedRules(
            Validate.FieldRules rules, List<?> items, FieldDescriptor f, String fp) {
        Validate.FieldRules itemRules = Validate.FieldRules.getDefaultInstance();
        if (rules.hasRepeated()) {
            Validate.RepeatedRules r = rules.getRepeated();
            if (!(r.getIgnoreEmpty() && items.isEmpty())) {
                if (r.hasMinItems()) {
                    check(
                            items.size() >= r.getMinItems(),
                            fp + ": at least " + r.getMinItems() + " items");
                }
                if (r.hasMaxItems()) {
                    check(
                            items.size() <= r.getMaxItems(),
                            fp + ": at most " + r.getMaxItems() + " items");
                }
                if (r.getUnique()) {
                    check(
                            new java.util.HashSet<>(items).size() == items.size(),
                            fp + ": items must be unique");
                }
            }
            itemRules = r.getItems();
        } else if (rules.getTypeCase() != Validate.FieldRules.TypeCase.TYPE_NOT_SET) {
            unchecked.add(fp + ": " + rules.getTypeCase());
        }
        for (int i = 0; i < items.size(); i++) {
            Object v = items.get(i);
            if (v instanceof Message msg) {
                typed(itemRules, msg, f, fp + "[" + i + "]");
                walk(msg, fp + "[" + i + "]");
            } else {
                scalar(itemRules, v, f, fp + "[" + i + "]");
            }
        }
    }

    private void mapRules(Validate.FieldRules rules, int size, String fp) {
        if (!rules.hasMap()) {
            return;
        }
        Validate.MapRules r = rules.getMap();
        if (r.getIgnoreEmpty() && size == 0) {
            return;
        }
        if (r.hasMinPairs()) {
            check(size >= r.getMinPairs(), fp + ": at least " + r.getMinPairs() + " entries");
        }
        if (r.hasMaxPairs()) {
            check(size <= r.getMaxPairs(), fp + ": at most " + r.getMaxPairs() + " entries");
        }
        if (r.hasKeys() || r.hasValues()) {
            unchecked.add(fp + ": map keys/values rules");
        }
    }

    private void messageRules(Validate.FieldRules rules, boolean present, String fp) {
        if (rules.hasMessage() && rules.getMessage().getRequired()) {
            check(present, fp + ": is required");
        }
        if (rules.hasDuration() && rules.getDuration().getRequired()) {
            check(present, fp + ": is required");
        }
        if (rules.hasTimestamp() && rules.getTimestamp().getRequired()) {
            check(present, fp + ": is required");
        }
        if (rules.hasAny() && rules.getAny().getRequired()) {
            check(present, fp + ": is required");
        }
    }

    /**
     * Rules on a message value: well-known wrappers carry scalar rules, Duration and Any their own.
     */
    private void typed(Validate.FieldRules rules, Message v, FieldDescriptor f, String fp) {
        switch (rules.getTypeCase()) {
            case DURATION ->
                    numeric(rules.getDuration(), seconds((com.google.protobuf.Duration) v), fp);
            case ANY -> {
                Validate.AnyRules a = rules.getAny();
                String url = ((Any) v).getTypeUrl();
                if (!a.getInList().isEmpty()) {
                    check(
                            a.getInList().contains(url),
                            fp + ": type " + url + " not in " + a.getInList());
                }
                check(!a.getNotInList().contains(url), fp + ": type " + url + " is not allowed");
            }
            case TYPE_NOT_SET -> {}
            default -> {
                // A wrapper (UInt32Value, StringValue, BoolValue...) with scalar rules on its
                // value.
                FieldDescriptor value = v.getDescriptorForType().findFieldByName("value");
                if (value != null
                        && v.getDescriptorForType()
                                .getFile()
                                .getPackage()
                                .equals("google.protobuf")) {
                    scalar(rules, v.getField(value), value, fp);
                } else {
                    unchecked.add(
                            fp
                                    + ": "
                                    + rules.getTypeCase()
                                    + " on "
                                    + v.getDescriptorForType().getFullName());
                }
            }
        }
    }

    private void scalar(Validate.FieldRules rules, Object v, FieldDescriptor f, String fp) {
        switch (rules.getTypeCase()) {
            case TYPE_NOT_SET -> {}
            case STRING -> string(rules.getString(), (String) v, fp);
            case BYTES -> {
                Validate.BytesRules b = rules.getBytes();
                int n = ((com.google.protobuf.ByteString) v).size();
                if (b.hasMinLen()) {
                    check(n >= b.getMinLen(), fp + ": at least " + b.getMinLen() + " bytes");
                }
                if (b.hasMaxLen()) {
                    check(n <= b.getMaxLen(), fp + ": at most " + b.getMaxLen() + " bytes");
                }
            }
            case ENUM -> {
                Validate.EnumRules e = rules.getEnum();
                EnumValueDescriptor ev = (EnumValueDescriptor) v;
                if (e.getDefinedOnly()) {
                    check(
                            ev.getIndex() >= 0
                                    && ev.getType().findValueByNumber(ev.getNumber()) != null,
                            fp + ": enum value " + ev.getNumber() + " is not defined");
                }
                if (!e.getInList().isEmpty()) {
                    check(
                            e.getInList().contains(ev.getNumber()),
                            fp + ": enum value not in " + e.getInList());
                }
                check(
                        !e.getNotInList().contains(ev.getNumber()),
                        fp + ": enum value " + ev.getName() + " is not allowed");
            }
            case BOOL -> {
                if (rules.getBool().hasConst()) {
                    check(
                            rules.getBool().getConst() == (Boolean) v,
                            fp + ": must be " + rules.getBool().getConst());
                }
            }
            case DOUBLE -> numeric(rules.getDouble(), new BigDecimal(((Number) v).toString()), fp);
            case FLOAT -> numeric(rules.getFloat(), new BigDecimal(((Number) v).toString()), fp);
            case INT32 ->
                    numeric(rules.getInt32(), BigDecimal.valueOf(((Number) v).longValue()), fp);
            case INT64 ->
                    numeric(rules.getInt64(), BigDecimal.valueOf(((Number) v).longValue()), fp);
            case UINT32 ->
                    numeric(
                            rules.getUint32(),
                            BigDecimal.valueOf(Integer.toUnsignedLong((Integer) v)),
                            fp);
            case UINT64 ->
                    numeric(rules.getUint64(), new BigDecimal(Long.toUnsignedString((Long) v)), fp);
            default -> unchecked.add(fp + ": " + rules.getTypeCase());
        }
    }

    private void string(Validate.StringRules r, String v, String fp) {
        if (r.getIgnoreEmpty() && v.isEmpty()) {
            return;
        }
        int chars = v.codePointCount(0, v.length());
        int bytes = v.getBytes(StandardCharsets.UTF_8).length;
        if (r.hasMinLen()) {
            check(
                    chars >= r.getMinLen(),
                    fp + ": at least " + r.getMinLen() + " characters, got \"" + v + "\"");
        }
        if (r.hasMaxLen()) {
            check(chars <= r.getMaxLen(), fp + ": at most " + r.getMaxLen() + " characters");
        }
        if (r.hasLen()) {
            check(chars == r.getLen(), fp + ": exactly " + r.getLen() + " characters");
        }
        if (r.hasMinBytes()) {
            check(
                    bytes >= r.getMinBytes(),
                    fp + ": at least " + r.getMinBytes() + " bytes, got \"" + v + "\"");
        }
        if (r.hasMaxBytes()) {
            check(bytes <= r.getMaxBytes(), fp + ": at most " + r.getMaxBytes() + " bytes");
        }
        if (r.hasPrefix()) {
            check(v.startsWith(r.getPrefix()), fp + ": must start with " + r.getPrefix());
        }
        if (r.hasSuffix()) {
            check(v.endsWith(r.getSuffix()), fp + ": must end with " + r.getSuffix());
        }
        if (r.hasContains()) {
            check(v.contains(r.getContains()), fp + ": must contain " + r.getContains());
        }
        if (r.hasNotContains()) {
            check(!v.contains(r.getNotContains()), fp + ": must not contain " + r.getNotContains());
        }
        if (r.hasPattern()) {
            // RE2 patterns of Envoy's protos are also valid Java patterns.
            check(
                    Pattern.compile(r.getPattern()).matcher(v).find(),
                    fp + ": must match " + r.getPattern());
        }
        if (!r.getInList().isEmpty()) {
            check(r.getInList().contains(v), fp + ": must be one of " + r.getInList());
        }
        check(!r.getNotInList().contains(v), fp + ": must not be " + v);
        switch (r.getWellKnownCase()) {
            case WELLKNOWN_NOT_SET -> {}
            case WELL_KNOWN_REGEX -> {
                // PGV's regexes for HTTP header names and values (strict by default).
                boolean strict = !r.hasStrict() || r.getStrict();
                String re =
                        switch (r.getWellKnownRegex()) {
                            case HTTP_HEADER_NAME ->
                                    strict
                                            ? "^:?[0-9a-zA-Z!#$%&'*+-.^_|~`]+$"
                                            : "^[^\\x00\\n\\r]+$";
                            case HTTP_HEADER_VALUE ->
                                    strict
                                            ? "^[^\\x00-\\x08\\x0A-\\x1F\\x7F]*$"
                                            : "^[^\\x00\\n\\r]*$";
                            default -> null;
                        };
                if (re == null) {
                    unchecked.add(fp + ": well_known_regex " + r.getWellKnownRegex());
                } else {
                    check(
                            Pattern.compile(re).matcher(v).find(),
                            fp + ": not a valid " + r.getWellKnownRegex() + ": \"" + v + "\"");
                }
            }
            default -> unchecked.add(fp + ": string " + r.getWellKnownCase());
        }
    }

    /**
     * const / lt / lte / gt / gte / in / not_in of any numeric or duration rule, read by field
     * name.
     */
    private void numeric(Message rule, BigDecimal v, String fp) {
        for (Map.Entry<FieldDescriptor, Object> e : rule.getAllFields().entrySet()) {
            String name = e.getKey().getName();
            if (name.equals("required") || name.equals("ignore_empty")) {
                continue;
            }
            if (name.equals("in") || name.equals("not_in")) {
                List<BigDecimal> set = ((List<?>) e.getValue()).stream().map(this::number).toList();
                boolean in = set.stream().anyMatch(x -> x.compareTo(v) == 0);
                check(
                        name.equals("in") == in,
                        fp + ": " + v + (name.equals("in") ? " not in " : " in ") + set);
                continue;
            }
            BigDecimal bound = number(e.getValue());
            int c = v.compareTo(bound);
            boolean ok =
                    switch (name) {
                        case "const" -> c == 0;
                        case "lt" -> c < 0;
                        case "lte" -> c <= 0;
                        case "gt" -> c > 0;
                        case "gte" -> c >= 0;
                        default -> {
                            unchecked.add(fp + ": numeric rule " + name);
                            yield true;
                        }
                    };
            check(ok, fp + ": " + v + " violates " + name + " " + bound);
        }
    }

    private BigDecimal number(Object o) {
        if (o instanceof com.google.protobuf.Duration d) {
            return seconds(d);
        }
        return new BigDecimal(o.toString());
    }

    private static BigDecimal seconds(com.google.protobuf.Duration d) {
        return BigDecimal.valueOf(d.getSeconds()).add(BigDecimal.valueOf(d.getNanos(), 9));
    }

    private void check(boolean ok, String violation) {
        checked++;
        if (!ok) {
            violations.add(violation);
        }
    }
}
