package org.fsp.bench.eval;

import org.HdrHistogram.Histogram;

/**
 * Per-thread operation timer: each {@link #lap()} records the time since the previous one as one operation. A loop
 * whose every round makes the same operations in the same order names them once ({@link #steps}); each lap then also
 * counts for the step it is, so a report can say which operation the time went to.
 */
final class Lap {

    final Histogram latency = Measurement.newHistogram();
    long ops;
    private long last = System.nanoTime();
    /** The named steps of one round of the loop, or null; with their latencies, and the step the next lap is. */
    String[] stepNames;

    Histogram[] stepLatency;
    private int step;

    void lap() {
        long now = System.nanoTime();
        long took = Math.max(1, now - last);
        latency.recordValue(took);
        if (stepLatency != null) {
            stepLatency[step].recordValue(took);
            step = step + 1 == stepLatency.length ? 0 : step + 1;
        }
        last = now;
        ops++;
    }

    /** Starts the next operation now, dropping the time since the last lap (set-up that is not an operation). */
    void skip() {
        last = System.nanoTime();
    }

    /** Names the operations of one round of the loop, in order: every round must lap exactly these, in this order. */
    void steps(String... names) {
        stepNames = names;
        stepLatency = new Histogram[names.length];
        for (int i = 0; i < names.length; i++) {
            stepLatency[i] = Measurement.newHistogram();
        }
        step = 0;
    }
}
