package org.fsp.bench.eval;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * What one run of a workload on one file system did: {@code ops} operations in {@code nanos} of wall time, each
 * operation's latency in {@code latency} (nanoseconds). What "an operation" is belongs to the workload (a file of the
 * paper's micro-benchmark, a stat, a whole directory listing, a Filebench flowop). {@code steps}, when the workload
 * names its operations (a Filebench personality's flowops), holds each one's latencies in the order of the flow;
 * else null.
 */
record Measurement(long ops, long nanos, Histogram latency, Map<String, Histogram> steps) {

    Measurement(long ops, long nanos, Histogram latency) {
        this(ops, nanos, latency, null);
    }

    /** A histogram for latencies from 100 ns to 100 s with 3 significant digits. */
    static Histogram newHistogram() {
        return new Histogram(TimeUnit.SECONDS.toNanos(100), 3);
    }

    double opsPerSecond() {
        return ops * 1e9 / nanos;
    }

    /** Mean wall time per operation, in microseconds. */
    double microsPerOp() {
        return nanos / 1e3 / ops;
    }
}
