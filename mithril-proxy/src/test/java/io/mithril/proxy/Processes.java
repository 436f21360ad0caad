package io.mithril.proxy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs real command-line clients (curl, openssl) and captures what they print. */
final class Processes {

    record Result(int exit, String out, String err) {
        /** The HTTP status curl printed with {@code -w '%{http_code}'} on its last line. */
        int status() {
            String[] lines = out.strip().split("\n");
            return Integer.parseInt(lines[lines.length - 1].trim());
        }

        String body() {
            String s = out.strip();
            int nl = s.lastIndexOf('\n');
            return nl < 0 ? "" : s.substring(0, nl);
        }
    }

    private Processes() {}

    static Result run(List<String> command, String stdin) throws IOException, InterruptedException {
        Path out = Files.createTempFile("proc", ".out");
        Path err = Files.createTempFile("proc", ".err");
        try {
            ProcessBuilder pb =
                    new ProcessBuilder(command)
                            .redirectOutput(out.toFile())
                            .redirectError(err.toFile());
            pb.environment().remove("http_proxy");
            pb.environment().remove("https_proxy");
            Process p = pb.start();
            if (stdin != null) {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new IOException("timed out: " + command);
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** curl with -sS, printing the body then the status code on its own line. */
    static Result curl(String... args) throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(List.of("curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"));
        cmd.addAll(List.of(args));
        return run(cmd, null);
    }
}
