package io.mithril.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code openssl speed ecdsap256}: the native reference every signing figure is compared with, run
 * in the same bench run on the same machine.
 */
public final class OpensslSpeed {

    private static final Pattern ECDSA_P256 =
            Pattern.compile(
                    "256 bits ecdsa \\(nistp256\\)\\s+\\S+s\\s+\\S+s\\s+([0-9.]+)\\s+([0-9.]+)");

    private OpensslSpeed() {}

    /** Sign and verify rates parsed from one run. */
    public record Result(double signsPerSecond, double verifiesPerSecond) {}

    /** {@code openssl version}, or empty if openssl is not installed. */
    public static Optional<String> version() {
        try {
            // "OpenSSL 3.0.19 27 Jan 2026 (Library: ...)" -> "OpenSSL 3.0.19"
            String[] words = run(List.of("openssl", "version"), 30).trim().split("\\s+");
            return Optional.of(words.length >= 2 ? words[0] + " " + words[1] : words[0]);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Runs {@code openssl speed -seconds S [-multi N] ecdsap256}.
     *
     * @param processes 1 for a single process, more for {@code -multi}
     * @throws IOException if openssl is missing, fails, or prints no ECDSA P-256 line
     */
    public static Result ecdsaP256(int seconds, int processes) throws IOException {
        List<String> cmd =
                new ArrayList<>(List.of("openssl", "speed", "-seconds", String.valueOf(seconds)));
        if (processes > 1) {
            cmd.addAll(List.of("-multi", String.valueOf(processes)));
        }
        cmd.add("ecdsap256");
        String out = run(cmd, seconds * 4L + 60);
        return parse(out)
                .orElseThrow(
                        () ->
                                new IOException(
                                        "no \"256 bits ecdsa (nistp256)\" line in the output of "
                                                + String.join(" ", cmd)));
    }

    /**
     * The last ECDSA P-256 result line of {@code openssl speed} output (with -multi, the total).
     */
    static Optional<Result> parse(String output) {
        Matcher m = ECDSA_P256.matcher(output);
        Result last = null;
        while (m.find()) {
            last = new Result(Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)));
        }
        return Optional.ofNullable(last);
    }

    private static String run(List<String> cmd, long timeoutSeconds) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IOException(
                        String.join(" ", cmd) + " did not finish in " + timeoutSeconds + "s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(
                        String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }
}
