package io.mithril.samples.bookinfo;

import com.sun.net.httpserver.Headers;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** An incoming request as the handlers see it; header names are case-insensitive. */
public record Request(String method, String path, String rawQuery, Headers headers, byte[] body) {

    /** The first value of a header, if present. */
    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.getFirst(name));
    }

    /** A cookie from the Cookie header(s). */
    public Optional<String> cookie(String name) {
        var values = headers.get("Cookie");
        if (values == null) {
            return Optional.empty();
        }
        for (String line : values) {
            for (String part : line.split(";")) {
                int eq = part.indexOf('=');
                if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
                    return Optional.of(part.substring(eq + 1).trim());
                }
            }
        }
        return Optional.empty();
    }

    /** Query parameters and, for form posts, form fields (like Flask's request.values). */
    public Map<String, String> values() {
        Map<String, String> out = new LinkedHashMap<>();
        parseForm(rawQuery, out);
        String type = header("Content-Type").orElse("");
        if (type.toLowerCase(java.util.Locale.ROOT)
                .startsWith("application/x-www-form-urlencoded")) {
            parseForm(new String(body, StandardCharsets.UTF_8), out);
        }
        return out;
    }

    private static void parseForm(String encoded, Map<String, String> out) {
        if (encoded == null || encoded.isEmpty()) {
            return;
        }
        for (String pair : encoded.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            try {
                out.putIfAbsent(
                        URLDecoder.decode(k, StandardCharsets.UTF_8),
                        URLDecoder.decode(v, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                // a malformed %-escape: skip the pair, as a lenient form parser does
            }
        }
    }
}
