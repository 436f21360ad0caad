package io.mithril.cli;

import picocli.CommandLine;

/**
 * Command-line conventions shared by every subcommand.
 *
 * <p>SPIRE's commands are Go programs whose flags have one dash ({@code -spiffeID}, {@code
 * -socketPath}); operators type them from memory, so every option is declared with its single-dash
 * name, and the double-dash spelling is accepted too.
 */
public final class Cli {

    private Cli() {}

    /**
     * Applies the shared settings: error output, exit codes, case-sensitive single-dash options.
     */
    public static CommandLine configure(CommandLine cl) {
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setUsageHelpAutoWidth(true);
        cl.setExecutionExceptionHandler(
                (ex, commandLine, parseResult) -> {
                    // A failed command prints one clear line (what failed and why) and exits 1; the
                    // stack
                    // trace is only for --debug style troubleshooting via MITHRIL_DEBUG=1.
                    if (System.getenv("MITHRIL_DEBUG") != null) {
                        ex.printStackTrace(commandLine.getErr());
                    }
                    String message = ex.getMessage() == null ? ex.toString() : ex.getMessage();
                    commandLine.getErr().println("Error: " + message);
                    return 1;
                });
        return cl;
    }

    /** A failure the user can fix; its message is printed as the whole error. */
    public static final class UserException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public UserException(String message) {
            super(message);
        }

        public UserException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
