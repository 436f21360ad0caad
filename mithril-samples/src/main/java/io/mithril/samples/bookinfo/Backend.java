package io.mithril.samples.bookinfo;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A service this one calls (details, reviews, ratings), by base URL such as {@code
 * http://details:9080}. Calls are HTTP/1.1 GETs with a timeout, sent through the {@link
 * OutboundProxy} when there is one, carrying the headers the caller propagates.
 */
public final class Backend {

    /** A backend's answer. */
    public record Response(int status, byte[] body) {}

    private final String name;
    private final URI baseUrl;
    private final Duration timeout;
    private final HttpClient client;

    public Backend(String name, URI baseUrl, Optional<OutboundProxy> proxy, Duration timeout) {
        this.name = name;
        String base = baseUrl.toString();
        this.baseUrl = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
        if (this.baseUrl.getScheme() == null || this.baseUrl.getHost() == null) {
            throw new IllegalArgumentException(
                    name
                            + " URL \""
                            + baseUrl
                            + "\" needs a scheme and host, like http://"
                            + name
                            + ":9080");
        }
        this.timeout = timeout;
        HttpClient.Builder b =
                HttpClient.newBuilder()
                        // HTTP/1.1 only: no h2c upgrade attempt, which proxies and sidecars need
                        // not understand
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(timeout)
                        .followRedirects(HttpClient.Redirect.NEVER);
        proxy.ifPresent(p -> b.proxy(p.selector()));
        this.client = b.build();
    }

    public String name() {
        return name;
    }

    public URI baseUrl() {
        return baseUrl;
    }

    /**
     * GETs {@code base + path}.
     *
     * @throws IOException when the service cannot be reached or does not answer in time
     */
    public Response get(String path, Map<String, String> headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder r =
                HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(timeout).GET();
        for (Map.Entry<String, String> h : headers.entrySet()) {
            try {
                r.header(h.getKey(), h.getValue());
            } catch (IllegalArgumentException restricted) {
                // a header the JDK client manages itself (or an invalid value): not propagated
            }
        }
        HttpResponse<byte[]> res = client.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Response(res.statusCode(), res.body());
    }

    @Override
    public String toString() {
        return name + " at " + baseUrl;
    }
}
