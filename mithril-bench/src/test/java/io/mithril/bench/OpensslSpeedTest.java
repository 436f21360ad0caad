package io.mithril.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OpensslSpeedTest {

    @Test
    void parsesTheSignAndVerifyRatesOfTheP256Line() {
        String out =
                "version: 3.0.19\n"
                        + "                              sign    verify    sign/s verify/s\n"
                        + " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  49841.9  16814.4\n";
        OpensslSpeed.Result r = OpensslSpeed.parse(out).orElseThrow();
        assertThat(r.signsPerSecond()).isEqualTo(49841.9);
        assertThat(r.verifiesPerSecond()).isEqualTo(16814.4);
    }

    @Test
    void outputWithoutTheP256LineHasNoResult() {
        assertThat(OpensslSpeed.parse("Invalid command 'ecdsap257'\n")).isEmpty();
    }

    @Test
    void realOpensslSpeedReportsAPositiveSignRate() throws Exception {
        OpensslSpeed.Result r = OpensslSpeed.ecdsaP256(1, 1);
        assertThat(r.signsPerSecond()).isPositive();
        assertThat(r.verifiesPerSecond()).isPositive();
    }
}
