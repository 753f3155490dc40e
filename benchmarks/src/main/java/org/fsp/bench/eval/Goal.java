package org.fsp.bench.eval;

import java.util.Locale;

/**
 * A target from issue 8, as a bound on the ratio FSP / kernel measured in the same run: {@code atMost} for times
 * (0.4 means FSP takes at most 40% of the kernel's time), otherwise at least {@code bound} (throughput).
 */
record Goal(boolean atMost, double bound) {

    static Goal atMost(double bound) {
        return new Goal(true, bound);
    }

    static Goal atLeast(double bound) {
        return new Goal(false, bound);
    }

    boolean met(double ratio) {
        return atMost ? ratio <= bound : ratio >= bound;
    }

    String label() {
        return String.format(Locale.ROOT, "%s %.1fx", atMost ? "<=" : ">=", bound);
    }
}
