package io.mithril.pki.upstream;

import io.mithril.pki.Openssl;
import java.nio.file.Path;

/**
 * Operator-style upstream CAs made by the real openssl, as
 * docs/plugin_server_upstreamauthority_disk.md tells operators to make them.
 */
final class OpensslCa {

    private OpensslCa() {}

    /** The documented recipe: EC P-256 key (SEC1 "EC PRIVATE KEY"), self-signed "Upstream CA". */
    static void selfSignedEcP256(Path dir, String name, String cn, int days) {
        Openssl.ok(
                dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", name + ".key");
        Openssl.ok(
                dir,
                "req",
                "-x509",
                "-new",
                "-key",
                name + ".key",
                "-sha256",
                "-days",
                String.valueOf(days),
                "-subj",
                "/C=US/O=SPIFFE/CN=" + cn,
                "-addext",
                "basicConstraints=critical,CA:true",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-addext",
                "subjectAltName=URI:spiffe://example.org",
                "-out",
                name + ".crt");
    }

    /** A self-signed certificate with CA:false (a mistake operators make). */
    static void selfSignedLeaf(Path dir, String name) {
        Openssl.ok(
                dir,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                name + ".key",
                "-days",
                "30",
                "-subj",
                "/CN=Not A CA",
                "-addext",
                "basicConstraints=critical,CA:false",
                "-addext",
                "keyUsage=critical,digitalSignature",
                "-out",
                name + ".crt");
    }

    /**
     * An intermediate CA for {@code name}, signed by the CA {@code issuer} (files issuer.crt/.key).
     */
    static void intermediate(Path dir, String name, String cn, String issuer, int days) {
        Openssl.ok(
                dir,
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                name + ".key",
                "-subj",
                "/C=US/O=SPIFFE/CN=" + cn,
                "-out",
                name + ".csr");
        java.nio.file.Path ext = dir.resolve(name + ".ext");
        try {
            java.nio.file.Files.writeString(
                    ext,
                    "basicConstraints=critical,CA:true\n"
                            + "keyUsage=critical,keyCertSign,cRLSign\n"
                            + "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Openssl.ok(
                dir,
                "x509",
                "-req",
                "-in",
                name + ".csr",
                "-CA",
                issuer + ".crt",
                "-CAkey",
                issuer + ".key",
                "-CAcreateserial",
                "-days",
                String.valueOf(days),
                "-sha256",
                "-extfile",
                name + ".ext",
                "-out",
                name + ".crt");
    }
}
