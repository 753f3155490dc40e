package org.fsp.bench;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes nested maps, lists, strings, numbers, booleans and nulls as indented JSON (the upgrade bench's results file),
 * and quotes strings for the benchmarks that write their JSON by hand (the eval reports), so that every results file
 * escapes the same way.
 */
public final class Json {

    /** Figures are measurements: six significant digits are more than they carry. */
    private static final MathContext SIGNIFICANT_DIGITS = new MathContext(6);

    private Json() {}

    public static String write(Object value) {
        StringBuilder b = new StringBuilder();
        write(value, b, "");
        return b.append('\n').toString();
    }

    private static void write(Object value, StringBuilder b, String indent) {
        switch (value) {
            case null -> b.append("null");
            case String s -> quote(s, b);
            case Boolean bool -> b.append(bool);
            case Double d when d.isNaN() || d.isInfinite() -> b.append("null");
            case Float f when f.isNaN() || f.isInfinite() -> b.append("null");
            case Double d ->
                b.append(new BigDecimal(d)
                        .round(SIGNIFICANT_DIGITS)
                        .stripTrailingZeros()
                        .toPlainString());
            case Number n -> b.append(n);
            case Map<?, ?> m -> {
                String inner = indent + "  ";
                b.append('{');
                String sep = "\n";
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    b.append(sep).append(inner);
                    quote(String.valueOf(e.getKey()), b);
                    b.append(": ");
                    write(e.getValue(), b, inner);
                    sep = ",\n";
                }
                b.append(m.isEmpty() ? "" : "\n" + indent).append('}');
            }
            case List<?> l -> {
                String inner = indent + "  ";
                b.append('[');
                String sep = "\n";
                for (Object o : l) {
                    b.append(sep).append(inner);
                    write(o, b, inner);
                    sep = ",\n";
                }
                b.append(l.isEmpty() ? "" : "\n" + indent).append(']');
            }
            default -> throw new IllegalArgumentException("not writable as JSON: " + value.getClass());
        }
    }

    /** {@code s} as a JSON string, quotes included. */
    public static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2);
        quote(s, b);
        return b.toString();
    }

    private static void quote(String s, StringBuilder b) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
