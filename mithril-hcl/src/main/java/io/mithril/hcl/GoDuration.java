package io.mithril.hcl;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;

/**
 * Go's {@code time.ParseDuration}, which SPIRE uses for every TTL: a sequence of decimal numbers,
 * each with an optional fraction and a unit ({@code ns}, {@code us}/{@code µs}, {@code ms}, {@code
 * s}, {@code m}, {@code h}), e.g. {@code "1h30m"}, {@code "1.5h"}. A bare number (no unit) is taken
 * as seconds, as Mithril's configs allow. The one parser for such durations in configuration files
 * and command-line flags.
 */
public final class GoDuration {
    private GoDuration() {}

    private static final BigDecimal NANOS_MAX = BigDecimal.valueOf(Long.MAX_VALUE);

    /**
     * Parses {@code text} as Go's {@code time.ParseDuration} does (a bare number is seconds).
     *
     * @throws IllegalArgumentException quoting the text and saying what is allowed
     */
    public static Duration parse(String text) {
        String s = text.trim();
        if (s.isEmpty()) {
            throw bad(text);
        }
        boolean negative = false;
        int i = 0;
        if (s.charAt(0) == '-' || s.charAt(0) == '+') {
            negative = s.charAt(0) == '-';
            i = 1;
        }
        if (s.substring(i).matches("[0-9]+")) {
            try {
                long seconds = Long.parseLong(s.substring(i));
                return negative
                        ? Duration.ofSeconds(seconds).negated()
                        : Duration.ofSeconds(seconds);
            } catch (NumberFormatException | ArithmeticException e) {
                throw bad(text);
            }
        }
        if (s.substring(i).equals("0")) {
            return Duration.ZERO;
        }
        BigDecimal nanos = BigDecimal.ZERO;
        if (i >= s.length()) {
            throw bad(text);
        }
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            String number = s.substring(start, i);
            if (number.isEmpty()
                    || number.equals(".")
                    || number.indexOf('.') != number.lastIndexOf('.')) {
                throw bad(text);
            }
            int unitStart = i;
            while (i < s.length() && !Character.isDigit(s.charAt(i)) && s.charAt(i) != '.') {
                i++;
            }
            String unit = s.substring(unitStart, i);
            long unitNanos =
                    switch (unit) {
                        case "ns" -> 1L;
                        case "us", "µs", "μs" -> 1_000L;
                        case "ms" -> 1_000_000L;
                        case "s" -> 1_000_000_000L;
                        case "m" -> 60_000_000_000L;
                        case "h" -> 3_600_000_000_000L;
                        default -> throw bad(text);
                    };
            BigDecimal value;
            try {
                value =
                        new BigDecimal(
                                number.endsWith(".")
                                        ? number + "0"
                                        : number.startsWith(".") ? "0" + number : number);
            } catch (NumberFormatException e) {
                throw bad(text);
            }
            nanos = nanos.add(value.multiply(BigDecimal.valueOf(unitNanos)));
            if (nanos.compareTo(NANOS_MAX) > 0) {
                throw new IllegalArgumentException(
                        "duration " + Quote.quote(text) + " is too long");
            }
        }
        long n = nanos.setScale(0, RoundingMode.DOWN).longValueExact();
        return Duration.ofNanos(negative ? -n : n);
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException(
                "invalid duration "
                        + Quote.quote(text)
                        + "; write it like \"1h\", \"90m\", \"1h30m\", \"30s\", \"500ms\" or a whole number of seconds");
    }
}
