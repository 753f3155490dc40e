package org.fsp.bench.device;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON reader for fio's output ({@link DeviceBench}'s {@code --output-format=json} runs): objects to maps,
 * arrays to lists, numbers to doubles.
 */
final class FioJson {
    private final String s;
    private int i;

    FioJson(String s) {
        this.s = s;
    }

    Object value() {
        skip();
        char c = s.charAt(i);
        switch (c) {
            case '{' -> {
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                i++;
                skip();
                if (s.charAt(i) == '}') {
                    i++;
                    return m;
                }
                while (true) {
                    skip();
                    String key = string();
                    skip();
                    i++; // ':'
                    m.put(key, value());
                    skip();
                    if (s.charAt(i++) == '}') {
                        return m;
                    }
                }
            }
            case '[' -> {
                List<Object> l = new ArrayList<>();
                i++;
                skip();
                if (s.charAt(i) == ']') {
                    i++;
                    return l;
                }
                while (true) {
                    l.add(value());
                    skip();
                    if (s.charAt(i++) == ']') {
                        return l;
                    }
                }
            }
            case '"' -> {
                return string();
            }
            default -> {
                int start = i;
                while (i < s.length() && ",}] \n\r\t".indexOf(s.charAt(i)) < 0) {
                    i++;
                }
                String token = s.substring(start, i);
                return switch (token) {
                    case "true" -> Boolean.TRUE;
                    case "false" -> Boolean.FALSE;
                    case "null" -> null;
                    default -> Double.parseDouble(token);
                };
            }
        }
    }

    private String string() {
        StringBuilder sb = new StringBuilder();
        i++; // opening quote
        while (s.charAt(i) != '"') {
            char c = s.charAt(i++);
            if (c == '\\') {
                char e = s.charAt(i++);
                sb.append(
                        e == 'n'
                                ? '\n'
                                : e == 't' ? '\t' : e == 'u' ? (char) Integer.parseInt(s.substring(i, i += 4), 16) : e);
            } else {
                sb.append(c);
            }
        }
        i++;
        return sb.toString();
    }

    private void skip() {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
    }
}
