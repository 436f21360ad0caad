package io.mithril.spiffe.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mithril.spiffe.id.TrustDomain;
import io.mithril.spiffe.testing.TestCerts;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BundleSetTest {
    static final TrustDomain EXAMPLE = TrustDomain.of("example.org");
    static final TrustDomain DOMAIN_TEST = TrustDomain.of("domain.test");
    static final X509Bundle EXAMPLE_BUNDLE =
            X509Bundle.of(EXAMPLE, List.of(TestCerts.root("Example root").cert()));
    static final X509Bundle DOMAIN_TEST_BUNDLE =
            X509Bundle.of(DOMAIN_TEST, List.of(TestCerts.root("Domain test root").cert()));

    @Test
    void looksUpX509BundlesByTrustDomain() {
        X509BundleSet set = X509BundleSet.of(EXAMPLE_BUNDLE, DOMAIN_TEST_BUNDLE);
        assertThat(set.bundleFor(EXAMPLE)).isEqualTo(EXAMPLE_BUNDLE);
        assertThat(set.bundleFor(DOMAIN_TEST)).isEqualTo(DOMAIN_TEST_BUNDLE);
        assertThat(set.find(TrustDomain.of("other.org"))).isEmpty();
    }

    @Test
    void missingTrustDomainThrowsBundleNotFound() {
        X509BundleSet set = X509BundleSet.of(EXAMPLE_BUNDLE);
        assertThatThrownBy(() -> set.bundleFor(DOMAIN_TEST))
                .isInstanceOf(BundleNotFoundException.class)
                .hasMessageContaining("domain.test")
                .satisfies(
                        e ->
                                assertThat(((BundleNotFoundException) e).trustDomain())
                                        .isEqualTo(DOMAIN_TEST));
    }

    @Test
    void withReplacesTheBundleOfTheSameTrustDomain() {
        X509Bundle newer = EXAMPLE_BUNDLE.withX509Authority(TestCerts.root("Next root").cert());
        X509BundleSet set = X509BundleSet.of(EXAMPLE_BUNDLE).with(newer);
        assertThat(set.bundleFor(EXAMPLE)).isEqualTo(newer);
        assertThat(set.bundles()).hasSize(1);
    }

    @Test
    void rejectsTwoBundlesForOneTrustDomain() {
        assertThatThrownBy(() -> X509BundleSet.of(EXAMPLE_BUNDLE, EXAMPLE_BUNDLE))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("example.org");
    }

    @Test
    void rejectsBundleFiledUnderAnotherTrustDomain() {
        assertThatThrownBy(() -> new X509BundleSet(Map.of(DOMAIN_TEST, EXAMPLE_BUNDLE)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void looksUpJwtBundlesByTrustDomain() {
        JwtBundle a = JwtBundle.of(EXAMPLE, Map.of("k1", TestCerts.ec256().getPublic()));
        JwtBundle b = JwtBundle.empty(DOMAIN_TEST);
        JwtBundleSet set = JwtBundleSet.of(a, b);
        assertThat(set.bundleFor(EXAMPLE)).isEqualTo(a);
        assertThat(set.bundleFor(DOMAIN_TEST).isEmpty()).isTrue();
        assertThatThrownBy(() -> set.bundleFor(TrustDomain.of("x.y")))
                .isInstanceOf(BundleNotFoundException.class);
    }

    @Test
    void jwtBundleFindsKeysById() {
        var key = TestCerts.ec256().getPublic();
        JwtBundle bundle = JwtBundle.of(EXAMPLE, Map.of("k1", key));
        assertThat(bundle.findJwtAuthority("k1")).contains(key);
        assertThat(bundle.findJwtAuthority("k2")).isEmpty();
        assertThatThrownBy(() -> JwtBundle.of(EXAMPLE, Map.of("", key)))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("empty key ID");
    }
}
