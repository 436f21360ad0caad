package io.mithril.samples.bookinfo;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Plain HTTP calls from tests to the services on 127.0.0.1, direct (no proxy). */
final class TestHttp {
    static final HttpClient CLIENT =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .build();

    private TestHttp() {}

    static InetSocketAddress ephemeral() {
        return new InetSocketAddress("127.0.0.1", 0);
    }

    static URI base(SampleServer s) {
        return URI.create("http://127.0.0.1:" + s.port());
    }

    static HttpResponse<String> get(SampleServer s, String path, String... headers)
            throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(base(s) + path)).timeout(Duration.ofSeconds(30));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> head(SampleServer s, String path) throws Exception {
        return CLIENT.send(
                HttpRequest.newBuilder(URI.create(base(s) + path))
                        .timeout(Duration.ofSeconds(30))
                        .method("HEAD", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(
            SampleServer s, String path, String contentType, String body, String... headers)
            throws Exception {
        HttpRequest.Builder b =
                HttpRequest.newBuilder(URI.create(base(s) + path))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", contentType);
        if (headers.length > 0) {
            b.headers(headers);
        }
        return CLIENT.send(
                b.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws IOException {
        return Json.MAPPER.readTree(r.body());
    }

    /** A URL where nothing listens: a port that was bound and released. */
    static URI deadUrl() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return URI.create("http://127.0.0.1:" + s.getLocalPort());
        }
    }
}
