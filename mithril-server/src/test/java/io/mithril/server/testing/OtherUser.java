package io.mithril.server.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A hostile local user: runs a command as an unused uid ({@code setpriv}, so the tests must run as
 * root, as the suite does), with no supplementary groups.
 */
public final class OtherUser {

    /** A uid no account on the machine uses. */
    public static final int UID = 64123;

    private OtherUser() {}

    /** What the command did. */
    public record Result(int exitCode, String output) {}

    /**
     * Runs {@code command} as {@link #UID} and returns its exit code with stdout and stderr merged.
     */
    public static Result run(String... command) throws IOException, InterruptedException {
        List<String> cmd =
                new ArrayList<>(
                        List.of("setpriv", "--reuid=" + UID, "--regid=" + UID, "--clear-groups"));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("did not finish in 30s: " + cmd);
        }
        return new Result(p.exitValue(), out);
    }
}
