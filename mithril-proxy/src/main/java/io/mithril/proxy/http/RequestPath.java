package io.mithril.proxy.http;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * The one request path a proxy uses for routing, authorization, the access log and the upstream
 * request, made as Envoy makes it under Istio's {@code pathNormalization} (see docs/security.md). A
 * request whose target cannot be made safe is refused with 400 before any of those steps sees it.
 *
 * <p>In order, as Envoy's {@code ConnectionManagerUtility::maybeNormalizePath} does:
 *
 * <ol>
 *   <li>Refused: a fragment ({@code #}), any byte outside {@code 0x21..0x7e} (controls, NUL, space,
 *       DEL and every non-ASCII byte), a malformed or encoded control escape ({@code %00..%1F},
 *       {@code %7F}), a target that is neither origin form ({@code /...}) nor {@code *}, and a
 *       {@code ;} in the path: servlet containers drop {@code ;params} from segments, so the path a
 *       policy saw would not be the one the application serves.
 *   <li>Escaped slashes ({@code %2F}, {@code %5C}) as {@code path_with_escaped_slashes_action}
 *       says: kept, decoded ({@code UNESCAPE_AND_FORWARD}) or refused.
 *   <li>RFC 3986 normalization ({@code normalize_path}): percent-encoded unreserved characters
 *       decoded, other escapes upper-cased, backslash to slash, dot segments removed.
 *   <li>Slashes merged ({@code merge_slashes}).
 * </ol>
 *
 * The query string is kept as sent (it is checked for the refused bytes only).
 */
public final class RequestPath {

    /** Istio's {@code MeshConfig.ProxyPathNormalization.NormalizationType}. */
    public enum Normalization {
        /** No normalization at all (unsafe with path-based policies). */
        NONE(false, false, EscapedSlashes.KEEP_UNCHANGED),
        /** RFC 3986 normalization; Istio's default. */
        BASE(true, false, EscapedSlashes.KEEP_UNCHANGED),
        /** BASE, and {@code //} merged. */
        MERGE_SLASHES(true, true, EscapedSlashes.KEEP_UNCHANGED),
        /** MERGE_SLASHES, and {@code %2F} / {@code %5C} decoded first; this project's default. */
        DECODE_AND_MERGE_SLASHES(true, true, EscapedSlashes.UNESCAPE_AND_FORWARD);

        final boolean normalize;
        final boolean merge;
        final EscapedSlashes escapedSlashes;

        Normalization(boolean normalize, boolean merge, EscapedSlashes escapedSlashes) {
            this.normalize = normalize;
            this.merge = merge;
            this.escapedSlashes = escapedSlashes;
        }
    }

    /**
     * Envoy's {@code path_with_escaped_slashes_action} (REDIRECT is not offered: it answers like
     * FORWARD).
     */
    public enum EscapedSlashes {
        KEEP_UNCHANGED,
        UNESCAPE_AND_FORWARD,
        REJECT_REQUEST
    }

    /** Why a request target is refused; the message is safe to send back and to log. */
    public static final class InvalidPathException extends Exception {
        InvalidPathException(String message) {
            super(message, null, false, false);
        }
    }

    private RequestPath() {}

    /**
     * The normalized path with its query, from a request target in origin form ({@code /p?q}) or
     * {@code *}.
     *
     * @throws InvalidPathException when the target must be refused with 400
     */
    public static String normalize(String target, Normalization mode) throws InvalidPathException {
        return normalize(target, mode, mode.escapedSlashes);
    }

    /**
     * As {@link #normalize(String, Normalization)}, with the escaped-slash action chosen apart
     * (Istio's EDGE connection settings, {@code REJECT_REQUEST}).
     *
     * @throws InvalidPathException when the target must be refused with 400
     */
    public static String normalize(String target, Normalization mode, EscapedSlashes slashes)
            throws InvalidPathException {
        if (target.isEmpty()) {
            throw new InvalidPathException("empty request target");
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c == '#') {
                throw new InvalidPathException("fragment in request target");
            }
            if (c <= 0x20 || c >= 0x7f) {
                throw new InvalidPathException(
                        String.format("byte 0x%02x in request target", (int) c & 0xff));
            }
        }
        if (target.equals("*")) {
            return target;
        }
        if (target.charAt(0) != '/') {
            throw new InvalidPathException("request target is not a path");
        }
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 ? "" : target.substring(q);
        if (path.indexOf(';') >= 0) {
            throw new InvalidPathException("';' parameters in the path");
        }
        checkEscapes(path);
        checkEscapes(query);
        if (mode == Normalization.NONE) {
            return target;
        }
        path = escapedSlashes(path, slashes);
        if (mode.normalize) {
            path = removeDotSegments(decodeUnreserved(path).replace('\\', '/'));
        }
        if (mode.merge) {
            path = mergeSlashes(path);
        }
        return path + query;
    }

    /** Every {@code %} starts two hex digits, and none encodes a control byte. */
    private static void checkEscapes(String s) throws InvalidPathException {
        for (int i = s.indexOf('%'); i >= 0; i = s.indexOf('%', i + 1)) {
            int v = i + 2 < s.length() ? hex(s.charAt(i + 1), s.charAt(i + 2)) : -1;
            if (v < 0) {
                throw new InvalidPathException("malformed percent-encoding in request target");
            }
            if (v < 0x20 || v == 0x7f) {
                throw new InvalidPathException(
                        String.format("encoded control byte %%%02X in request target", v));
            }
        }
    }

    private static String escapedSlashes(String path, EscapedSlashes action)
            throws InvalidPathException {
        if (action == EscapedSlashes.KEEP_UNCHANGED || path.indexOf('%') < 0) {
            return path;
        }
        StringBuilder out = null;
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                int v = hex(path.charAt(i + 1), path.charAt(i + 2));
                if (v == '/' || v == '\\') {
                    if (action == EscapedSlashes.REJECT_REQUEST) {
                        throw new InvalidPathException("escaped slash in the path");
                    }
                    if (out == null) {
                        out = new StringBuilder(path.length()).append(path, 0, i);
                    }
                    out.append((char) v);
                    i += 2;
                    continue;
                }
            }
            if (out != null) {
                out.append(c);
            }
        }
        return out == null ? path : out.toString();
    }

    /** RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
    private static boolean unreserved(int c) {
        return c >= 'a' && c <= 'z'
                || c >= 'A' && c <= 'Z'
                || c >= '0' && c <= '9'
                || c == '-'
                || c == '.'
                || c == '_'
                || c == '~';
    }

    private static String decodeUnreserved(String path) {
        if (path.indexOf('%') < 0) {
            return path;
        }
        StringBuilder out = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%') {
                int v = hex(path.charAt(i + 1), path.charAt(i + 2));
                if (unreserved(v)) {
                    out.append((char) v);
                } else {
                    out.append('%').append(path.substring(i + 1, i + 3).toUpperCase(Locale.ROOT));
                }
                i += 2;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    /** RFC 3986 section 5.2.4 on an absolute path; {@code ..} above the root stays at the root. */
    static String removeDotSegments(String path) {
        if (!path.contains(".")) {
            return path;
        }
        Deque<String> out = new ArrayDeque<>();
        String[] segments = path.substring(1).split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            String s = segments[i];
            boolean last = i == segments.length - 1;
            if (s.equals(".") || s.equals("..")) {
                if (s.equals("..") && !out.isEmpty()) {
                    out.removeLast();
                }
                if (last) {
                    out.addLast(""); // "/a/.." is "/", "/a/b/." is "/a/b/"
                }
            } else {
                out.addLast(s);
            }
        }
        return "/" + String.join("/", out);
    }

    private static String mergeSlashes(String path) {
        if (!path.contains("//")) {
            return path;
        }
        StringBuilder out = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c != '/' || out.length() == 0 || out.charAt(out.length() - 1) != '/') {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static int hex(char a, char b) {
        int h = Character.digit(a, 16);
        int l = Character.digit(b, 16);
        return h < 0 || l < 0 ? -1 : h << 4 | l;
    }
}
