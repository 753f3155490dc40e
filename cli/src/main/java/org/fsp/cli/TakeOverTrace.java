package org.fsp.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The phases of one take-over by a standby, from the moment the device lock came to serving: each {@link #begin}
 * ends the phase before it. The layers' phases are named by their bundles (a bundle's phase runs from its start to the
 * next bundle's, which covers its components' activation: SCR activates them on the thread that starts the bundle).
 *
 * <p>Why: the time from a death to serving is the sum of these, and which layer holds it up decides what to make
 * faster. The summary goes to the supervisor's restart line and {@code fsp:status}; with {@value #PROPERTY} each
 * phase and each FSP service registered is also printed as it happens.
 */
final class TakeOverTrace {

    /** System property: print every phase and service registration of a take-over on stderr as it happens. */
    static final String PROPERTY = "fsp.takeover.trace";

    private static final String FSP_PREFIX = "org.fsp.";

    private final long originNanos;
    private final boolean printing;
    private final List<String> names = new ArrayList<>();
    private final List<Long> starts = new ArrayList<>();
    private long endNanos;

    /** A trace whose times count from {@code originNanos} (when the device lock came). */
    TakeOverTrace(long originNanos, boolean printing) {
        this.originNanos = originNanos;
        this.printing = printing;
    }

    static boolean printingRequested() {
        return Boolean.getBoolean(PROPERTY);
    }

    /**
     * Phase {@code name} (no spaces: the control line is split on them) begins at {@code nanos}; the one before ends
     * there. Names repeat: their times add up.
     */
    synchronized void begin(String name, long nanos) {
        if (endNanos != 0) {
            print(shortName(name) + " begins, after serving", nanos);
            return;
        }
        names.add(shortName(name));
        starts.add(nanos);
        print(shortName(name) + " begins", nanos);
    }

    /** Something that happened inside the current phase, printed only (a service registered, for instance). */
    void event(String what, long nanos) {
        print(what, nanos);
    }

    /** The take-over is complete (serving) at {@code nanos}. */
    synchronized void end(String what, long nanos) {
        endNanos = nanos;
        print(what, nanos);
    }

    /** Milliseconds per phase name, in order of first appearance; the last phase ends at {@link #end}. */
    synchronized Map<String, Long> phaseMillis() {
        Map<String, Long> nanos = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            long until = i + 1 < starts.size() ? starts.get(i + 1) : endNanos;
            nanos.merge(names.get(i), Math.max(0, until - starts.get(i)), Long::sum);
        }
        Map<String, Long> millis = new LinkedHashMap<>();
        nanos.forEach((k, v) -> millis.put(k, TimeUnit.NANOSECONDS.toMillis(v)));
        return millis;
    }

    /**
     * The phases as one word for the control line, {@code name=ms,name=ms}, those under 1 ms left out ({@code -} when
     * none is left).
     */
    String encoded() {
        StringBuilder sb = new StringBuilder();
        phaseMillis().forEach((k, v) -> {
            if (v > 0) {
                sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v);
            }
        });
        return sb.isEmpty() ? "-" : sb.toString();
    }

    /** {@code name=ms,…} as people read it: {@code block-nvme 211 ms, fs-core 205 ms}; empty for {@code -}. */
    static String readable(String encoded) {
        if (encoded == null || encoded.isEmpty() || encoded.equals("-")) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (String phase : encoded.split(",")) {
            int eq = phase.indexOf('=');
            if (eq > 0) {
                sb.append(sb.isEmpty() ? "" : ", ")
                        .append(phase, 0, eq)
                        .append(' ')
                        .append(phase.substring(eq + 1))
                        .append(" ms");
            }
        }
        return sb.toString();
    }

    private void print(String what, long nanos) {
        if (printing) {
            System.err.printf(
                    Locale.ROOT,
                    "fspd take-over: +%d ms after the device lock came: %s%n",
                    TimeUnit.NANOSECONDS.toMillis(nanos - originNanos),
                    what);
        }
    }

    static String shortName(String name) {
        return name.startsWith(FSP_PREFIX) ? name.substring(FSP_PREFIX.length()).replace('.', '-') : name;
    }
}
