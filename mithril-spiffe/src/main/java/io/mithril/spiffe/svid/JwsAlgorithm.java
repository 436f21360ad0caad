package io.mithril.spiffe.svid;

import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PSSParameterSpec;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.util.BigIntegers;

/**
 * The JWS algorithms a JWT-SVID may use (RFC 7518 section 3), mapped to JCA signatures. ECDSA
 * signatures in JWS are the raw {@code R || S} concatenation of fixed-size integers, not the
 * DER that the JCA produces and expects, so they are converted both ways.
 */
enum JwsAlgorithm {
    RS256("SHA256withRSA", null, 0),
    RS384("SHA384withRSA", null, 0),
    RS512("SHA512withRSA", null, 0),
    PS256("RSASSA-PSS", pss("SHA-256", MGF1ParameterSpec.SHA256, 32), 0),
    PS384("RSASSA-PSS", pss("SHA-384", MGF1ParameterSpec.SHA384, 48), 0),
    PS512("RSASSA-PSS", pss("SHA-512", MGF1ParameterSpec.SHA512, 64), 0),
    ES256("SHA256withECDSA", null, 256),
    ES384("SHA384withECDSA", null, 384),
    ES512("SHA512withECDSA", null, 521);

    private final String jca;
    private final PSSParameterSpec pss;
    /** For ECDSA: the curve's field size in bits (P-256, P-384, P-521); 0 for RSA. */
    private final int ecFieldBits;

    JwsAlgorithm(String jca, PSSParameterSpec pss, int ecFieldBits) {
        this.jca = jca;
        this.pss = pss;
        this.ecFieldBits = ecFieldBits;
    }

    private static PSSParameterSpec pss(String digest, MGF1ParameterSpec mgf, int saltLength) {
        return new PSSParameterSpec(digest, "MGF1", mgf, saltLength, 1);
    }

    /** The algorithm named by a JWS {@code alg} header, or null if a JWT-SVID may not use it. */
    static JwsAlgorithm byName(String alg) {
        for (JwsAlgorithm a : values()) {
            if (a.name().equals(alg)) {
                return a;
            }
        }
        return null;
    }

    boolean isEcdsa() {
        return ecFieldBits != 0;
    }

    /** The algorithm a signer with this key uses: ES256/384/512 by curve, RS256 for RSA. */
    static JwsAlgorithm forSigningKey(PrivateKey key) {
        if (key instanceof ECKey ec) {
            int bits = ec.getParams().getCurve().getField().getFieldSize();
            for (JwsAlgorithm a : values()) {
                if (a.ecFieldBits == bits) {
                    return a;
                }
            }
            throw new IllegalArgumentException("EC key of " + bits + " bits: JWT-SVIDs are signed with P-256, P-384 or P-521");
        }
        if (key instanceof RSAKey) {
            return RS256;
        }
        throw new IllegalArgumentException("key algorithm \"" + key.getAlgorithm()
                + "\" cannot sign JWT-SVIDs (RSA or EC P-256/P-384/P-521 only)");
    }

    /** Whether a key of this type and size can carry this algorithm. */
    boolean fits(Key key) {
        if (isEcdsa()) {
            return key instanceof ECKey ec && ec.getParams().getCurve().getField().getFieldSize() == ecFieldBits;
        }
        return key instanceof RSAKey;
    }

    private int coordinateBytes() {
        return (ecFieldBits + 7) / 8;
    }

    byte[] sign(PrivateKey key, byte[] input) throws GeneralSecurityException {
        Signature s = Signature.getInstance(jca);
        if (pss != null) {
            s.setParameter(pss);
        }
        s.initSign(key);
        s.update(input);
        byte[] sig = s.sign();
        return isEcdsa() ? derToRaw(sig, coordinateBytes()) : sig;
    }

    boolean verify(PublicKey key, byte[] input, byte[] signature) throws GeneralSecurityException {
        if (!fits(key)) {
            return false;
        }
        byte[] sig = signature;
        if (isEcdsa()) {
            sig = rawToDer(signature, coordinateBytes());
            if (sig == null) {
                return false;
            }
        }
        Signature s = Signature.getInstance(jca);
        if (pss != null) {
            s.setParameter(pss);
        }
        s.initVerify(key);
        s.update(input);
        return s.verify(sig);
    }

    /** DER {@code SEQUENCE { r INTEGER, s INTEGER }} to {@code R || S}. */
    static byte[] derToRaw(byte[] der, int size) throws GeneralSecurityException {
        try {
            ASN1Sequence seq = ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(der));
            BigInteger r = ASN1Integer.getInstance(seq.getObjectAt(0)).getPositiveValue();
            BigInteger s = ASN1Integer.getInstance(seq.getObjectAt(1)).getPositiveValue();
            byte[] out = new byte[2 * size];
            BigIntegers.asUnsignedByteArray(r, out, 0, size);
            BigIntegers.asUnsignedByteArray(s, out, size, size);
            return out;
        } catch (IOException | RuntimeException e) {
            throw new GeneralSecurityException("ECDSA signature is not DER: " + e.getMessage(), e);
        }
    }

    /** {@code R || S} to DER; null if the length is wrong or R or S is zero. */
    static byte[] rawToDer(byte[] raw, int size) {
        if (raw.length != 2 * size) {
            return null;
        }
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(raw, 0, size));
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(raw, size, 2 * size));
        if (r.signum() == 0 || s.signum() == 0) {
            return null;
        }
        try {
            return new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {new ASN1Integer(r), new ASN1Integer(s)})
                    .getEncoded();
        } catch (IOException e) {
            return null;
        }
    }
}
