package io.mithril.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The pieces of the collector that need no running component: metrics text, p99, edges, names. */
class CollectorTest {

    private static final String METRICS =
            """
            # HELP istio_requests_total Requests handled by this proxy
            # TYPE istio_requests_total counter
            istio_requests_total{destination_service="reviews",reporter="destination",response_code="200",response_flags="-",source_principal="spiffe://example.org/ns/default/sa/bookinfo-productpage"} 8.0
            istio_requests_total{destination_service="reviews",reporter="destination",response_code="403",response_flags="RBAC",source_principal="spiffe://example.org/ns/default/sa/sleep"} 2.0
            istio_requests_total{destination_service="ratings",reporter="source",response_code="200",response_flags="-",source_principal="unknown"} 5.0
            istio_request_duration_milliseconds_bucket{destination_service="reviews",reporter="destination",response_code="200",response_flags="-",source_principal="spiffe://example.org/ns/default/sa/bookinfo-productpage",le="1.0"} 2.0
            istio_request_duration_milliseconds_bucket{destination_service="reviews",reporter="destination",response_code="200",response_flags="-",source_principal="spiffe://example.org/ns/default/sa/bookinfo-productpage",le="5.0"} 8.0
            istio_request_duration_milliseconds_bucket{destination_service="reviews",reporter="destination",response_code="200",response_flags="-",source_principal="spiffe://example.org/ns/default/sa/bookinfo-productpage",le="+Inf"} 8.0
            """;

    @Test
    void prometheusTextParsesWithLabelsAndEscapes() {
        List<PromText.Sample> s = PromText.parse(METRICS + "x{a=\"q\\\"uote\"} +Inf\nup 1\n");
        assertThat(s).hasSize(8);
        assertThat(s.get(0).label("response_code")).isEqualTo("200");
        assertThat(s.get(6).label("a")).isEqualTo("q\"uote");
        assertThat(s.get(6).value()).isInfinite();
        assertThat(s.get(7).name()).isEqualTo("up");
        assertThatThrownBy(() -> PromText.parse("ok 1\nbroken{a=1} 2\n"))
                .hasMessageStartingWith("metrics line 2:");
    }

    @Test
    void edgesAreTheCallsAProxyReceivedByCallerIdentity() {
        Map<String, Collector.EdgeTotals> totals = new TreeMap<>();
        Collector.addEdges(
                "spiffe://example.org/ns/default/sa/bookinfo-reviews",
                false,
                PromText.parse(METRICS),
                totals);
        assertThat(totals)
                .containsOnlyKeys(
                        "spiffe://example.org/ns/default/sa/bookinfo-productpage\nspiffe://example.org/ns/default/sa/bookinfo-reviews",
                        "spiffe://example.org/ns/default/sa/sleep\nspiffe://example.org/ns/default/sa/bookinfo-reviews");
        Collector.EdgeTotals denied =
                totals.get(
                        "spiffe://example.org/ns/default/sa/sleep\nspiffe://example.org/ns/default/sa/bookinfo-reviews");
        assertThat(denied.requests()).isEqualTo(2);
        assertThat(denied.errors()).isEqualTo(2);
        assertThat(denied.denied()).isEqualTo(2);
        // A gateway's requests are reported as "source" (it is the first hop): they count too.
        Map<String, Collector.EdgeTotals> gw = new TreeMap<>();
        Collector.addEdges("spiffe://example.org/gw", true, PromText.parse(METRICS), gw);
        assertThat(gw).containsKey("unknown\nspiffe://example.org/gw");
    }

    @Test
    void p99IsInterpolatedInsideItsBucketAsHistogramQuantileDoes() {
        TreeMap<Double, Double> b =
                new TreeMap<>(Map.of(1.0, 2.0, 5.0, 8.0, Double.POSITIVE_INFINITY, 8.0));
        // rank 0.99 * 8 = 7.92: in (1, 5], 5.92 of its 6 requests below -> 1 + 4 * 5.92 / 6
        assertThat(Collector.quantile(0.99, b))
                .isCloseTo(1 + 4 * 5.92 / 6, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(Collector.quantile(0.99, new TreeMap<>())).isNull();
        assertThat(Collector.quantile(0.99, new TreeMap<>(Map.of(Double.POSITIVE_INFINITY, 0.0))))
                .isNull();
    }

    @Test
    void namesAndAddresses() {
        assertThat(Collector.label("spiffe://example.org/ns/default/sa/bookinfo-reviews"))
                .isEqualTo("bookinfo-reviews");
        assertThat(Collector.label("spiffe://example.org/cluster1/node"))
                .isEqualTo("/cluster1/node");
        assertThat(Collector.hostOf("/10.213.0.2:43120")).isEqualTo("10.213.0.2");
        assertThat(Collector.hostOf("127.0.1.1:5000")).isEqualTo("127.0.1.1");
        assertThatThrownBy(() -> new Sources.ProxyAdmin("p", null, "nohost"))
                .hasMessageContaining("HOST:PORT");
        assertThatThrownBy(() -> new Sources.ProxyAdmin("p", null, "h:70000"))
                .hasMessageContaining("1-65535");
    }
}
