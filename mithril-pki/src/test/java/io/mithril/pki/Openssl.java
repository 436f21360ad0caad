package io.mithril.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code openssl} binary for tests; every process is waited for or killed. */
public final class Openssl {

    /** Exit code and merged output of one run. */
    public record Result(int exitCode, String output) {}

    private Openssl() {}

    public static Result run(Path workDir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Process p = null;
        try {
            p =
                    new ProcessBuilder(cmd)
                            .directory(workDir.toFile())
                            .redirectErrorStream(true)
                            .start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("openssl did not finish: " + cmd);
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd, e);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** Runs and fails with the output unless openssl exits 0. */
    public static String ok(Path workDir, String... args) {
        Result r = run(workDir, args);
        if (r.exitCode() != 0) {
            throw new AssertionError(
                    "openssl "
                            + String.join(" ", args)
                            + " failed ("
                            + r.exitCode()
                            + "):\n"
                            + r.output());
        }
        return r.output();
    }

    /**
     * {@code openssl verify -CAfile root.pem -untrusted intermediates.pem leaf.pem}, with the files
     * written to {@code dir}; returns the result.
     */
    public static Result verify(
            Path dir,
            List<java.security.cert.X509Certificate> roots,
            List<java.security.cert.X509Certificate> intermediates,
            java.security.cert.X509Certificate leaf,
            String... extra) {
        Pem.writeCertificates(dir.resolve("root.pem"), roots);
        Pem.writeCertificates(dir.resolve("leaf.pem"), List.of(leaf));
        List<String> args = new ArrayList<>(List.of("verify"));
        args.addAll(List.of(extra));
        args.addAll(List.of("-CAfile", "root.pem"));
        if (!intermediates.isEmpty()) {
            Pem.writeCertificates(dir.resolve("intermediate.pem"), intermediates);
            args.addAll(List.of("-untrusted", "intermediate.pem"));
        }
        args.add("leaf.pem");
        return run(dir, args.toArray(new String[0]));
    }
}
