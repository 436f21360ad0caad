package io.mithril.cli.agent;

import io.mithril.hcl.GoDuration;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Date;

/**
 * Formats values the way spire-agent (Go) prints them, so output reads the same: {@code
 * time.Duration} ({@code 3.2ms}, {@code 1.5s}, {@code 2m3s}) and {@code time.Time} ({@code
 * 2026-11-27 17:45:30 +0000 UTC}).
 */
final class GoFormat {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss '+0000 UTC'").withZone(ZoneOffset.UTC);

    private GoFormat() {}

    static String time(Date d) {
        return TIME.format(d.toInstant());
    }

    static String time(Instant i) {
        return TIME.format(i);
    }

    /** Go's {@code Duration.String()}. */
    static String duration(Duration d) {
        long ns = d.toNanos();
        if (ns == 0) {
            return "0s";
        }
        String sign = ns < 0 ? "-" : "";
        ns = Math.abs(ns);
        if (ns < 1_000) {
            return sign + ns + "ns";
        }
        if (ns < 1_000_000) {
            return sign + frac(ns, 1_000) + "µs";
        }
        if (ns < 1_000_000_000) {
            return sign + frac(ns, 1_000_000) + "ms";
        }
        long h = ns / 3_600_000_000_000L;
        long rem = ns % 3_600_000_000_000L;
        long m = rem / 60_000_000_000L;
        long sNs = rem % 60_000_000_000L;
        StringBuilder b = new StringBuilder(sign);
        if (h > 0) {
            b.append(h).append('h');
        }
        if (h > 0 || m > 0) {
            b.append(m).append('m');
        }
        b.append(frac(sNs, 1_000_000_000)).append('s');
        return b.toString();
    }

    private static String frac(long value, long unit) {
        return BigDecimal.valueOf(value)
                .divide(BigDecimal.valueOf(unit))
                .stripTrailingZeros()
                .toPlainString();
    }

    /**
     * Parses a Go duration ({@code 5s}, {@code 1m30s}, {@code 500ms}, {@code 1h}); a bare number
     * means seconds.
     *
     * @throws IllegalArgumentException quoting the value
     */
    static Duration parseDuration(String text) {
        return GoDuration.parse(text == null ? "" : text);
    }
}
