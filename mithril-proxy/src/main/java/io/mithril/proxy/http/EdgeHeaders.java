package io.mithril.proxy.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What a gateway does to the headers of a request from an external (untrusted) client, as Envoy
 * does for edge requests ({@code use_remote_address: true}, no internal addresses): every {@code
 * x-envoy-*} header the client sent is removed (they steer retries, timeouts and routing inside the
 * mesh), {@code x-envoy-external-address} is set to the client's address, and {@code x-request-id}
 * is generated anew (the client's is not trusted for tracing).
 */
final class EdgeHeaders {

    private EdgeHeaders() {}

    static void sanitize(HttpHeaders h, String clientAddress) {
        // Names as the codec holds them (no String per header), and a list only when there is one.
        List<CharSequence> envoy = null;
        Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
        while (it.hasNext()) {
            CharSequence name = it.next().getKey();
            if (AsciiString.regionMatches(name, true, 0, "x-envoy-", 0, 8)) {
                if (envoy == null) {
                    envoy = new ArrayList<>(2);
                }
                envoy.add(name);
            }
        }
        if (envoy != null) {
            envoy.forEach(h::remove);
        }
        if (clientAddress != null) {
            h.set("x-envoy-external-address", clientAddress);
        }
        h.set("x-request-id", RequestHandler.requestId());
    }
}
