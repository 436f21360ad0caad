package io.mithril.proxy.http;

import static io.mithril.proxy.http.RequestPath.Normalization.BASE;
import static io.mithril.proxy.http.RequestPath.Normalization.DECODE_AND_MERGE_SLASHES;
import static io.mithril.proxy.http.RequestPath.Normalization.MERGE_SLASHES;
import static io.mithril.proxy.http.RequestPath.Normalization.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The one path, as Envoy makes it under each of Istio's pathNormalization settings. */
class RequestPathTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "/api/v1/products/0/ratings       | /api/v1/products/0/ratings",
                "/api/v1/products/0/./ratings     | /api/v1/products/0/ratings",
                "/api/v1/products/0/x/../ratings  | /api/v1/products/0/ratings",
                "/static/../api/v1/products/0     | /api/v1/products/0",
                "/../../etc/passwd                | /etc/passwd",
                "/a/..                            | /",
                "/a/b/.                           | /a/b/",
                "//api//v1///products             | /api/v1/products",
                "/api/v1/products/0/%72atings     | /api/v1/products/0/ratings",
                "/%2e%2e/secret                   | /secret",
                "/api/v1/products/0\\ratings      | /api/v1/products/0/ratings",
                "/api/v1/products/0%2Fratings     | /api/v1/products/0/ratings",
                "/api/v1/products/0%5cratings     | /api/v1/products/0/ratings",
                "/a/..%2F..%2Fsecret              | /secret",
                "/a%3fb%2a                        | /a%3Fb%2A",
                "/p?q=/../x&y=%2F                 | /p?q=/../x&y=%2F",
                "*                                | *",
            })
    void decodeAndMergeSlashesMakesOnePath(String in, String out) throws Exception {
        assertThat(RequestPath.normalize(in, DECODE_AND_MERGE_SLASHES)).isEqualTo(out);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "/a#x",
                "/a?b#x",
                "/a\u0000",
                "/a\u0001b",
                "/a b",
                "/a\u007f",
                "/a\u0080",
                "/\u00e9",
                "/a%00",
                "/a%1f",
                "/a%7F",
                "/a%",
                "/a%4",
                "/a%zz",
                "/a;jsessionid=1",
                "/a/b;x/c",
                "a",
                "http:x",
                ""
            })
    void refusesFragmentsControlBytesBadEscapesParametersAndNonPaths(String target) {
        assertThatThrownBy(() -> RequestPath.normalize(target, DECODE_AND_MERGE_SLASHES))
                .isInstanceOf(RequestPath.InvalidPathException.class);
        assertThatThrownBy(() -> RequestPath.normalize(target, NONE))
                .isInstanceOf(RequestPath.InvalidPathException.class);
    }

    @ParameterizedTest(name = "{0}: {1} -> {2}")
    @CsvSource(
            delimiter = '|',
            value = {
                "NONE          | //a/./b%2Fc | //a/./b%2Fc",
                "BASE          | //a/./b%2Fc | //a/b%2Fc",
                "MERGE_SLASHES | //a/./b%2Fc | /a/b%2Fc",
            })
    void istioSettingsOtherThanTheDefault(RequestPath.Normalization mode, String in, String out)
            throws Exception {
        assertThat(RequestPath.normalize(in, mode)).isEqualTo(out);
    }

    @org.junit.jupiter.api.Test
    void escapedSlashesCanBeRefused() throws Exception {
        assertThatThrownBy(
                        () ->
                                RequestPath.normalize(
                                        "/a%2Fb",
                                        MERGE_SLASHES, RequestPath.EscapedSlashes.REJECT_REQUEST))
                .isInstanceOf(RequestPath.InvalidPathException.class)
                .hasMessageContaining("escaped slash");
        assertThat(RequestPath.normalize("/a/b", BASE, RequestPath.EscapedSlashes.REJECT_REQUEST))
                .isEqualTo("/a/b");
    }
}
