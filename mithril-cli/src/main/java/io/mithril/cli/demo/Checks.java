package io.mithril.cli.demo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Small helpers for the demo's checks: external commands, ports, waiting, certificates. */
final class Checks {

    private Checks() {}

    /** The outcome of an external command. */
    record Exec(int exit, String out, String err) {}

    /** Runs a command with a time limit, capturing its output. */
    static Exec exec(List<String> command, Duration timeout)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile("mithril-demo", ".out");
        Path err = Files.createTempFile("mithril-demo", ".err");
        try {
            Process p =
                    new ProcessBuilder(command)
                            .redirectOutput(out.toFile())
                            .redirectError(err.toFile())
                            .redirectInput(
                                    ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                            .start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor();
                throw new IOException(
                        String.join(" ", command)
                                + ": no answer within "
                                + timeout.toSeconds()
                                + "s");
            }
            return new Exec(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Whether {@code program} is on the PATH. */
    static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** Whether something accepts TCP connections at host:port. */
    static boolean listening(String host, int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 300);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Waits until {@code ready} holds, polling; fails early when {@code process} dies.
     *
     * @throws IOException naming what was awaited, with the process's last log lines
     */
    static void await(
            String what, Duration timeout, Supervisor.Managed process, BooleanSupplier ready)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long sleep = 20;
        while (System.nanoTime() < deadline) {
            if (ready.getAsBoolean()) {
                return;
            }
            if (process != null && !process.alive()) {
                throw new IOException(
                        process.name()
                                + " exited with code "
                                + process.process().exitValue()
                                + " before "
                                + what
                                + "; last lines of "
                                + process.log()
                                + ":\n"
                                + Supervisor.tail(process.log(), 15));
            }
            Thread.sleep(sleep);
            sleep = Math.min(200, sleep * 2);
        }
        throw new IOException(
                "timed out after "
                        + timeout.toSeconds()
                        + "s waiting for "
                        + what
                        + (process == null
                                ? ""
                                : "; last lines of "
                                        + process.log()
                                        + ":\n"
                                        + Supervisor.tail(process.log(), 15)));
    }

    /**
     * {@code openssl s_client -showcerts} to the gateway published on 127.0.0.1:{@code port} for
     * {@code app.example.org}, presenting {@code cert}/{@code key}.
     */
    static List<String> gatewayShowCerts(int port, Path cert, Path key) {
        return new java.util.ArrayList<>(
                List.of(
                        "openssl",
                        "s_client",
                        "-showcerts",
                        "-connect",
                        "127.0.0.1:" + port,
                        "-servername",
                        "app.example.org",
                        "-cert",
                        cert.toString(),
                        "-key",
                        key.toString()));
    }

    /**
     * The peer must refuse the TLS handshake: curl exits with 35 (handshake failed), 55 or 56 (the
     * server's alert arrives while sending or receiving). Any other outcome, including a local
     * error such as an unreadable key, fails the check.
     */
    static void requireHandshakeRefused(String who, Exec r) throws IOException {
        if (r.exit() != 35 && r.exit() != 55 && r.exit() != 56) {
            throw new IOException(
                    who
                            + " should be refused in the TLS handshake, but curl exited "
                            + r.exit()
                            + ": "
                            + (r.err() + tail(r.out())).strip());
        }
    }

    /** The last 400 characters of a command's output, for an error message. */
    static String tail(String s) {
        return s.length() > 400 ? s.substring(s.length() - 400) : s;
    }

    private static final Pattern PEM =
            Pattern.compile(
                    "-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+?-----END CERTIFICATE-----");

    /**
     * Every PEM certificate in a text (such as the output of {@code openssl s_client -showcerts}).
     */
    static List<X509Certificate> certificates(String text) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> certs = new ArrayList<>();
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            certs.add(
                    (X509Certificate)
                            cf.generateCertificate(
                                    new ByteArrayInputStream(
                                            m.group().getBytes(StandardCharsets.US_ASCII))));
        }
        return certs;
    }

    /** The URI SANs of a certificate. */
    static List<String> uris(X509Certificate cert) throws Exception {
        List<String> uris = new ArrayList<>();
        Collection<List<?>> sans = cert.getSubjectAlternativeNames();
        if (sans != null) {
            for (List<?> san : sans) {
                if (((Integer) san.get(0)) == 6) {
                    uris.add((String) san.get(1));
                }
            }
        }
        return uris;
    }

    /** Whether {@code cert} was signed by {@code issuer}'s key. */
    static boolean signedBy(X509Certificate cert, X509Certificate issuer) {
        try {
            cert.verify(issuer.getPublicKey());
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    /**
     * CPU time (user + system) of a process and its descendants, in seconds; 0 for what the OS does
     * not tell.
     */
    static double cpuSeconds(ProcessHandle p) {
        long millis = p.info().totalCpuDuration().map(java.time.Duration::toMillis).orElse(0L);
        for (ProcessHandle d : (Iterable<ProcessHandle>) p.descendants()::iterator) {
            millis += d.info().totalCpuDuration().map(java.time.Duration::toMillis).orElse(0L);
        }
        return millis / 1000.0;
    }

    /** Resident memory of a process and its descendants, in KiB, from /proc. */
    static long rssKiB(ProcessHandle p) {
        long total = rssOne(p.pid());
        for (ProcessHandle d : (Iterable<ProcessHandle>) p.descendants()::iterator) {
            total += rssOne(d.pid());
        }
        return total;
    }

    /**
     * Proportional set size of a process and its descendants, in KiB: pages shared between
     * processes (the JDK, class data sharing archives) are divided among them, so the sum over all
     * processes is the memory they really take. 0 when /proc does not tell.
     */
    static long pssKiB(ProcessHandle p) {
        long total = pssOne(p.pid());
        for (ProcessHandle d : (Iterable<ProcessHandle>) p.descendants()::iterator) {
            total += pssOne(d.pid());
        }
        return total;
    }

    private static long pssOne(long pid) {
        try {
            for (String line :
                    Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
                if (line.startsWith("Pss:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // the process is gone, or the kernel has no smaps_rollup
        }
        return 0;
    }

    private static long rssOne(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // the process is gone
        }
        return 0;
    }
}
