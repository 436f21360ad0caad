package io.mithril.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A suite's result: a title, the machine, a Markdown table and notes. {@link #markdown()} is what
 * the CLI prints and {@link #write(Path)} saves as {@code <suite>-<date>.md}.
 */
public final class BenchReport {

    private final String suite;
    private final String title;
    private final Machine machine;
    private final List<String> header;
    private final int textColumns;
    private final List<List<String>> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    /** A report whose first column is text and the others are numbers (right-aligned). */
    public BenchReport(String suite, String title, Machine machine, List<String> header) {
        this(suite, title, machine, header, 1);
    }

    /**
     * A report whose first {@code textColumns} columns are left-aligned text, the rest
     * right-aligned numbers.
     */
    public BenchReport(
            String suite, String title, Machine machine, List<String> header, int textColumns) {
        this.textColumns = textColumns;
        this.suite = Objects.requireNonNull(suite);
        this.title = Objects.requireNonNull(title);
        this.machine = Objects.requireNonNull(machine);
        this.header = List.copyOf(header);
    }

    /** Adds a row; it must have one cell per header column. */
    public BenchReport row(List<String> cells) {
        if (cells.size() != header.size()) {
            throw new IllegalArgumentException(
                    "row has "
                            + cells.size()
                            + " cells, the table has "
                            + header.size()
                            + " columns");
        }
        rows.add(List.copyOf(cells));
        return this;
    }

    /** Adds a note printed under the table. */
    public BenchReport note(String note) {
        notes.add(note);
        return this;
    }

    public String suite() {
        return suite;
    }

    public List<List<String>> rows() {
        return List.copyOf(rows);
    }

    /** The whole report as Markdown. */
    public String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("## ").append(title).append("\n\n");
        sb.append(machine.markdown()).append("\n");
        sb.append("| ").append(String.join(" | ", header)).append(" |\n");
        sb.append("|");
        for (int i = 0; i < header.size(); i++) {
            sb.append(i < textColumns ? "---" : "---:").append("|");
        }
        sb.append("\n");
        for (List<String> r : rows) {
            sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        if (!notes.isEmpty()) {
            sb.append("\n");
            for (String n : notes) {
                sb.append(n).append("\n");
            }
        }
        return sb.toString();
    }

    /** Writes {@code <dir>/<suite>-<yyyy-MM-dd>.md} and returns its path. */
    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path file =
                dir.resolve(
                        suite
                                + "-"
                                + DateTimeFormatter.ISO_LOCAL_DATE
                                        .withZone(ZoneOffset.UTC)
                                        .format(machine.date())
                                + ".md");
        Files.writeString(file, markdown(), StandardCharsets.UTF_8);
        return file;
    }

    /** {@code 12,345} style, no decimals. */
    public static String rate(double opsPerSecond) {
        return String.format(java.util.Locale.ROOT, "%,.0f", opsPerSecond);
    }

    /** {@code 0.42x} style. */
    public static String ratio(double r) {
        return String.format(java.util.Locale.ROOT, "%.2fx", r);
    }
}
