package io.mithril.samples.bookinfo;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DetailsServiceTest {

    private DetailsService details;

    @BeforeEach
    void start() throws Exception {
        details = new DetailsService(TestHttp.ephemeral());
        details.start();
    }

    @AfterEach
    void stop() {
        details.close();
    }

    @Test
    void detailsOfProductZeroIsIstiosExactJson() throws Exception {
        HttpResponse<String> r = TestHttp.get(details, "/details/0");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
        assertThat(r.body())
                .isEqualTo(
                        "{\"id\":0,\"author\":\"William Shakespeare\",\"year\":1595,\"type\":\"paperback\","
                                + "\"pages\":200,\"publisher\":\"PublisherA\",\"language\":\"English\",\"ISBN-10\":\"1234567890\","
                                + "\"ISBN-13\":\"123-1234567890\"}");
    }

    @Test
    void anyNumericIdEchoesTheId() throws Exception {
        assertThat(TestHttp.json(TestHttp.get(details, "/details/42")).path("id").asInt())
                .isEqualTo(42);
    }

    @Test
    void nonNumericIdIs400WithIstiosError() throws Exception {
        HttpResponse<String> r = TestHttp.get(details, "/details/abc");
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).isEqualTo("{\"error\":\"please provide numeric product id\"}");
    }

    @Test
    void healthAnswersOk() throws Exception {
        HttpResponse<String> r = TestHttp.get(details, "/health");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("{\"status\":\"Details is healthy\"}");
    }

    @Test
    void unknownPathIs404() throws Exception {
        assertThat(TestHttp.get(details, "/nothing").statusCode()).isEqualTo(404);
    }

    @Test
    void headAnswersLikeGetWithoutBody() throws Exception {
        HttpResponse<String> r = TestHttp.head(details, "/details/0");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEmpty();
        assertThat(r.headers().firstValue("Content-Type")).contains("application/json");
    }

    @Test
    void postIs405() throws Exception {
        assertThat(TestHttp.post(details, "/details/0", "application/json", "{}").statusCode())
                .isEqualTo(405);
    }
}
