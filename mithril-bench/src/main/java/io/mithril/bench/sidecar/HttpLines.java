package io.mithril.bench.sidecar;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Reads HTTP/1.1 lines for the bench's small client and backend. */
final class HttpLines {

    private HttpLines() {}

    /** One line without its CRLF (or bare LF), or null at end of stream. */
    static String read(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                byte[] bytes = b.toByteArray();
                int len =
                        bytes.length > 0 && bytes[bytes.length - 1] == '\r'
                                ? bytes.length - 1
                                : bytes.length;
                return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
            }
            b.write(c);
        }
        return null;
    }
}
