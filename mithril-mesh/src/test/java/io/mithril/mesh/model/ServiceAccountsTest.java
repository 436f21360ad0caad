package io.mithril.mesh.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ServiceAccountsTest {

    @Test
    void theRegexIsIstiodsAndReadsBack() {
        String re = ServiceAccounts.regex("default/sleep");
        assertThat(re).isEqualTo("spiffe://.+/ns/default/(.+/|)sa/sleep(/.+)?");
        assertThat(ServiceAccounts.fromRegex(re)).contains("default/sleep");
        assertThat(ServiceAccounts.fromRegex("spiffe://[^/]+/ns/default/.*")).isEmpty();
        assertThat(ServiceAccounts.fromRegex(".+")).isEmpty();
    }

    @Test
    void aBareServiceAccountIsInThePolicysNamespace() {
        assertThat(ServiceAccounts.qualified("default", "sleep")).isEqualTo("default/sleep");
        assertThat(ServiceAccounts.qualified("default", "other/client")).isEqualTo("other/client");
    }

    @Test
    void matchesWithOrWithoutTheSchemeAndNeverWithoutAnId() {
        assertThat(ServiceAccounts.matches("default/sleep", "example.org/ns/default/sa/sleep"))
                .isTrue();
        assertThat(ServiceAccounts.matches("default/sleep", "spiffe://td/ns/default/sa/sleep/x"))
                .isTrue();
        assertThat(ServiceAccounts.matches("default/sleep", "spiffe://td/ns/default/sa/sleepy"))
                .isFalse();
        assertThat(ServiceAccounts.matches("default/sleep", "spiffe:///ns/default/sa/sleep"))
                .as("a trust domain is required")
                .isFalse();
        assertThat(ServiceAccounts.matches("default/sleep", null)).isFalse();
    }
}
