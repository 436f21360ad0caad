package io.mithril.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleUnaryOperator;

/** The median, min and max of one figure over several runs: how the tables report every figure. */
public record Spread(double median, double min, double max) {

    /**
     * The spread of {@code values}.
     *
     * @throws IllegalArgumentException if there are none
     */
    public static Spread of(List<Double> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("no values");
        }
        List<Double> s = new ArrayList<>(values);
        Collections.sort(s);
        int n = s.size();
        double median = n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
        return new Spread(median, s.get(0), s.get(n - 1));
    }

    /** {@code median (min-max)} with {@code decimals} decimals. */
    public String format(int decimals) {
        String f = "%." + decimals + "f";
        return String.format(Locale.ROOT, f + " (" + f + "-" + f + ")", median, min, max);
    }

    /** The same spread with every figure mapped (e.g. to another unit). */
    public Spread map(DoubleUnaryOperator f) {
        return new Spread(f.applyAsDouble(median), f.applyAsDouble(min), f.applyAsDouble(max));
    }
}
