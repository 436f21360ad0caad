package io.mithril.dashboard;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * GETs paths of a plain-HTTP admin endpoint: with the JDK's client on the host, or with the real
 * {@code curl} inside a network namespace ({@code ip netns exec NS curl ...}, one process for all
 * paths). A non-200 answer or a failure is an {@link IOException} naming the address.
 */
final class AdminFetch {

    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final String END = "@@mithril-dashboard-end ";

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

    String get(String hostPort, String path) throws IOException {
        return getAll(null, hostPort, List.of(path)).get(path);
    }

    Map<String, String> getAll(String netns, String hostPort, List<String> paths)
            throws IOException {
        return netns == null ? viaJdk(hostPort, paths) : viaCurl(netns, hostPort, paths);
    }

    private Map<String, String> viaJdk(String hostPort, List<String> paths) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String path : paths) {
            HttpRequest req =
                    HttpRequest.newBuilder(URI.create("http://" + hostPort + path))
                            .timeout(TIMEOUT)
                            .GET()
                            .build();
            HttpResponse<String> r;
            try {
                r = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            } catch (IOException e) {
                throw new IOException(
                        "http://"
                                + hostPort
                                + path
                                + ": "
                                + (e.getMessage() == null ? e.toString() : e.getMessage()),
                        e);
            }
            if (r.statusCode() != 200) {
                throw new IOException("http://" + hostPort + path + " answered " + r.statusCode());
            }
            out.put(path, r.body());
        }
        return out;
    }

    private static Map<String, String> viaCurl(String netns, String hostPort, List<String> paths)
            throws IOException {
        List<String> cmd =
                new ArrayList<>(
                        List.of(
                                "ip",
                                "netns",
                                "exec",
                                netns,
                                "curl",
                                "-sS",
                                "--max-time",
                                Long.toString(TIMEOUT.toSeconds()),
                                "-w",
                                "\n" + END + "%{http_code}\n"));
        for (String p : paths) {
            cmd.add("http://" + hostPort + p);
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text;
        try {
            text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT.toSeconds() * paths.size() + 2, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("curl in " + netns + " timed out");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        Map<String, String> out = new LinkedHashMap<>();
        int from = 0;
        for (String path : paths) {
            int end = text.indexOf("\n" + END, from);
            if (end < 0) {
                throw new IOException(
                        "curl in netns "
                                + netns
                                + " for http://"
                                + hostPort
                                + path
                                + " failed: "
                                + text.strip());
            }
            int nl = text.indexOf('\n', end + 1 + END.length());
            String code = text.substring(end + 1 + END.length(), nl < 0 ? text.length() : nl);
            if (!code.equals("200")) {
                throw new IOException(
                        "http://" + hostPort + path + " in netns " + netns + " answered " + code);
            }
            out.put(path, text.substring(from, end));
            from = nl < 0 ? text.length() : nl + 1;
        }
        return out;
    }
}
