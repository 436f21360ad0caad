package io.mithril.proxy.http;

import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
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
        List<String> envoy = new ArrayList<>();
        for (Map.Entry<String, String> e : h) {
            if (e.getKey().regionMatches(true, 0, "x-envoy-", 0, 8)) {
                envoy.add(e.getKey());
            }
        }
        envoy.forEach(h::remove);
        if (clientAddress != null) {
            h.set("x-envoy-external-address", clientAddress);
        }
        h.set("x-request-id", RequestHandler.requestId());
    }
}
