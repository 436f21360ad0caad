package io.mithril.cli.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.mithril.cli.Main;
import java.io.BufferedReader;
import java.io.PipedReader;
import java.io.PipedWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SampleCommandTest {

    private static int run(StringWriter err, String... args) {
        CommandLine cl = Main.newCommandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @Test
    void unknownReviewsVersionIsAUserError() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "sample", "reviews", "-port", "0", "-version", "v9")).isEqualTo(1);
        assertThat(err.toString())
                .contains("Error: -version: reviews version \"v9\" is not v1, v2 or v3");
    }

    @Test
    void badServiceUrlIsAUserError() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "sample", "productpage", "-port", "0", "-detailsUrl", "details:9080"))
                .isEqualTo(1);
        assertThat(err.toString())
                .contains("Error: -detailsUrl \"details:9080\" is not an http:// URL");
    }

    @Test
    void badProxyIsAUserError() {
        StringWriter err = new StringWriter();
        assertThat(run(err, "sample", "reviews", "-port", "0", "-proxy", "socks5://p:1"))
                .isEqualTo(1);
        assertThat(err.toString())
                .contains("Error: -proxy \"socks5://p:1\" is not an HTTP proxy URL");
    }

    @Test
    void detailsCommandServesOnTheAnnouncedPortUntilStopped() throws Exception {
        PipedWriter pipe = new PipedWriter();
        BufferedReader out = new BufferedReader(new PipedReader(pipe));
        CommandLine cl = Main.newCommandLine();
        cl.setOut(new PrintWriter(pipe, true));
        AtomicInteger exit = new AtomicInteger(-1);
        Thread t =
                new Thread(
                        () ->
                                exit.set(
                                        cl.execute(
                                                "sample",
                                                "details",
                                                "-address",
                                                "127.0.0.1",
                                                "-port",
                                                "0")));
        t.start();
        try {
            String line = out.readLine();
            Matcher m =
                    Pattern.compile("details listening on 127\\.0\\.0\\.1:(\\d+)").matcher(line);
            assertThat(m.find()).as(line).isTrue();
            HttpResponse<String> r =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(
                                                    URI.create(
                                                            "http://127.0.0.1:"
                                                                    + m.group(1)
                                                                    + "/details/0"))
                                            .timeout(Duration.ofSeconds(30))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("\"author\":\"William Shakespeare\"");
        } finally {
            t.interrupt();
            t.join(30_000);
        }
        assertThat(t.isAlive()).isFalse();
        assertThat(exit.get()).isZero();
    }
}
