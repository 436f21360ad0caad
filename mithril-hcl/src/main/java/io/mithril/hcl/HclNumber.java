package io.mithril.hcl;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Objects;

/**
 * A number written without quotes: an integer ({@code 8081}, {@code -1}, {@code 0x1F}) or a decimal
 * ({@code 1.5}, {@code 2e3}). {@link #text()} is the number as written.
 */
public record HclNumber(BigDecimal value, String text, Position position) implements HclValue {

    public HclNumber {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(position, "position");
    }

    /** Parses a number literal as the lexer found it; null if it is not one. */
    static BigDecimal parseLiteral(String text) {
        try {
            String t = text;
            boolean negative = t.startsWith("-");
            if (negative) {
                t = t.substring(1);
            }
            if (t.startsWith("0x") || t.startsWith("0X")) {
                BigInteger v = new BigInteger(t.substring(2), 16);
                return new BigDecimal(negative ? v.negate() : v);
            }
            if (t.isEmpty() || !Character.isDigit(t.charAt(0))) {
                return null;
            }
            BigDecimal v = new BigDecimal(t);
            return negative ? v.negate() : v;
        } catch (NumberFormatException | ArithmeticException e) {
            return null;
        }
    }

    /** True when the number is a whole number that fits a {@code long}. */
    public boolean isLong() {
        try {
            value.longValueExact();
            return true;
        } catch (ArithmeticException e) {
            return false;
        }
    }

    @Override
    public String typeName() {
        return "number";
    }

    @Override
    public String describe() {
        return "number " + text;
    }
}
