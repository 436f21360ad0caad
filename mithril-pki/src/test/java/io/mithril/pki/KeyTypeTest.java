package io.mithril.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KeyTypeTest {

    @ParameterizedTest
    @CsvSource({
        "ec-p256,EC_P256",
        "ec-p384,EC_P384",
        "rsa-2048,RSA_2048",
        "rsa-4096,RSA_4096",
        "RSA-2048,RSA_2048",
        "' ec-p256 ',EC_P256"
    })
    void fromConfigAcceptsSpiresSpellings(String value, KeyType expected) {
        assertThat(KeyType.fromConfig(value)).isEqualTo(expected);
    }

    @Test
    void fromConfigRejectsAnUnknownValueNamingTheAllowedOnes() {
        assertThatThrownBy(() -> KeyType.fromConfig("ec256"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage(
                        "unknown key type \"ec256\": allowed values are ec-p256, ec-p384, rsa-2048, rsa-4096");
    }

    @Test
    void signatureAlgorithmsFollowTheKeyType() {
        assertThat(KeyType.EC_P256.signatureAlgorithm()).isEqualTo("SHA256withECDSA");
        assertThat(KeyType.EC_P384.signatureAlgorithm()).isEqualTo("SHA384withECDSA");
        assertThat(KeyType.RSA_2048.signatureAlgorithm()).isEqualTo("SHA256withRSA");
        assertThat(KeyType.RSA_4096.signatureAlgorithm()).isEqualTo("SHA256withRSA");
    }

    @Test
    void generatedEcKeysAreOnTheRightCurve() {
        KeyPair p256 = KeyType.EC_P256.generate();
        KeyPair p384 = KeyType.EC_P384.generate();
        assertThat(
                        ((ECPublicKey) p256.getPublic())
                                .getParams()
                                .getCurve()
                                .getField()
                                .getFieldSize())
                .isEqualTo(256);
        assertThat(
                        ((ECPublicKey) p384.getPublic())
                                .getParams()
                                .getCurve()
                                .getField()
                                .getFieldSize())
                .isEqualTo(384);
        assertThat(KeyType.of(p256.getPrivate())).isEqualTo(KeyType.EC_P256);
        assertThat(KeyType.of(p384.getPublic())).isEqualTo(KeyType.EC_P384);
    }

    @Test
    void generatedRsaKeysHaveTheRightModulusAndExponent() {
        KeyPair rsa = KeyType.RSA_2048.generate();
        RSAPublicKey pub = (RSAPublicKey) rsa.getPublic();
        assertThat(pub.getModulus().bitLength()).isEqualTo(2048);
        assertThat(pub.getPublicExponent().intValue()).isEqualTo(65537);
        assertThat(KeyType.of(rsa.getPrivate())).isEqualTo(KeyType.RSA_2048);
    }

    @Test
    void configNameIsTheStringForm() {
        assertThat(KeyType.RSA_2048.configName()).isEqualTo("rsa-2048");
        assertThat(KeyType.RSA_2048).hasToString("rsa-2048");
    }
}
