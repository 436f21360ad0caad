package io.mithril.cli.demo;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints the demo's progress: one line per step with its result and the time it took, and keeps the
 * results for the summary. A failed step stops the demo with the reason.
 */
final class Steps {

    /** A step's work; returns a short result text shown after "ok". */
    @FunctionalInterface
    interface Work {
        String run() throws Exception;
    }

    /** Thrown when a step fails; its message says which step and why. */
    static final class StepFailed extends Exception {
        private static final long serialVersionUID = 1L;

        StepFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    record Result(String name, String detail, double seconds) {}

    private final PrintWriter out;
    private final long start = System.nanoTime();
    private final List<Result> results = new ArrayList<>();

    Steps(PrintWriter out) {
        this.out = out;
    }

    /** Seconds since the demo started. */
    double elapsed() {
        return (System.nanoTime() - start) / 1e9;
    }

    String run(String name, Work work) throws StepFailed {
        long t0 = System.nanoTime();
        out.printf("[%6.1fs] %s ...%n", elapsed(), name);
        out.flush();
        try {
            String detail = work.run();
            double took = (System.nanoTime() - t0) / 1e9;
            results.add(new Result(name, detail, took));
            out.printf(
                    "[%6.1fs]   ok (%.1fs)%s%n",
                    elapsed(), took, detail == null || detail.isEmpty() ? "" : ": " + detail);
            out.flush();
            return detail;
        } catch (Exception e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            out.printf("[%6.1fs]   FAILED: %s%n", elapsed(), why);
            out.flush();
            throw new StepFailed(name + ": " + why, e);
        }
    }

    List<Result> results() {
        return List.copyOf(results);
    }
}
