package org.fsp.bench.eval;

import org.HdrHistogram.Histogram;

/** Per-thread operation timer: each {@link #lap()} records the time since the previous one as one operation. */
final class Lap {

    final Histogram latency = Measurement.newHistogram();
    long ops;
    private long last = System.nanoTime();

    void lap() {
        long now = System.nanoTime();
        latency.recordValue(Math.max(1, now - last));
        last = now;
        ops++;
    }

    /** Starts the next operation now, dropping the time since the last lap (set-up that is not an operation). */
    void skip() {
        last = System.nanoTime();
    }
}
