package org.fsp.block.nvme;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Counters and the completion-latency histogram of one block device, safe to update from any thread.
 *
 * <p>Latency is measured from the moment a request is queued ({@code submitRead/Write/Flush}) to the moment its
 * completion is reported by {@code poll}, in nanoseconds, with 3 significant digits up to 60 s. Recording is wait
 * free (HdrHistogram {@link Recorder}); {@link #snapshot()} folds the interval since the last snapshot into a
 * cumulative histogram.
 */
public final class DeviceStats {

    private static final long HIGHEST_TRACKABLE_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final LongAdder reads = new LongAdder();
    private final LongAdder writes = new LongAdder();
    private final LongAdder flushes = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder rejectedFull = new LongAdder();
    private final LongAdder resubmitted = new LongAdder();
    private final LongSupplier systemCalls;
    private final Recorder latencyNanos = new Recorder(HIGHEST_TRACKABLE_NANOS, 3);
    private final Histogram cumulative = new Histogram(HIGHEST_TRACKABLE_NANOS, 3);
    private Histogram interval;

    /** @param systemCalls counts the driver's system calls on the I/O path */
    DeviceStats(LongSupplier systemCalls) {
        this.systemCalls = systemCalls;
    }

    /** Records one completion of {@code kind} with {@code result} (bytes, or negated errno). */
    void recordCompletion(Kind kind, int result, long latencyNanos) {
        if (result < 0) {
            errors.increment();
        } else {
            switch (kind) {
                case READ -> {
                    reads.increment();
                    bytesRead.add(result);
                }
                case WRITE -> {
                    writes.increment();
                    bytesWritten.add(result);
                }
                case FLUSH -> flushes.increment();
            }
        }
        this.latencyNanos.recordValue(Math.min(Math.max(latencyNanos, 0), HIGHEST_TRACKABLE_NANOS));
    }

    /** Counts a submission refused because the queue was full. */
    void recordQueueFull() {
        rejectedFull.increment();
    }

    /** Counts a short or EAGAIN completion whose remainder the driver resubmitted. */
    void recordResubmit() {
        resubmitted.increment();
    }

    public long reads() {
        return reads.sum();
    }

    public long writes() {
        return writes.sum();
    }

    public long flushes() {
        return flushes.sum();
    }

    public long errors() {
        return errors.sum();
    }

    /** System calls the driver made to submit and reap (io_uring_enter); 0 for the RAM device. */
    public long systemCalls() {
        return systemCalls.getAsLong();
    }

    public long resubmitted() {
        return resubmitted.sum();
    }

    /** A copy of the cumulative latency histogram (nanoseconds) including everything recorded so far. */
    public synchronized Histogram snapshot() {
        interval = latencyNanos.getIntervalHistogram(interval);
        cumulative.add(interval);
        return cumulative.copy();
    }

    /** Counters and latency percentiles, keys in display order; latencies in microseconds. */
    public Map<String, Object> toMap() {
        Histogram h = snapshot();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("reads", reads.sum());
        m.put("writes", writes.sum());
        m.put("flushes", flushes.sum());
        m.put("bytesRead", bytesRead.sum());
        m.put("bytesWritten", bytesWritten.sum());
        m.put("errors", errors.sum());
        m.put("rejectedQueueFull", rejectedFull.sum());
        m.put("resubmitted", resubmitted.sum());
        m.put("systemCalls", systemCalls.getAsLong());
        m.put("latencyCount", h.getTotalCount());
        m.put("latencyMeanMicros", round(h.getMean() / 1000.0));
        m.put("latencyP50Micros", round(h.getValueAtPercentile(50) / 1000.0));
        m.put("latencyP99Micros", round(h.getValueAtPercentile(99) / 1000.0));
        m.put("latencyP999Micros", round(h.getValueAtPercentile(99.9) / 1000.0));
        m.put("latencyMaxMicros", round(h.getMaxValue() / 1000.0));
        return m;
    }

    /** A text histogram of completion latency: count per power-of-two microsecond bucket. */
    public String latencyHistogramText() {
        Histogram h = snapshot();
        StringBuilder sb = new StringBuilder();
        if (h.getTotalCount() == 0) {
            return "  (no completions yet)\n";
        }
        long total = h.getTotalCount();
        long lowMicros = 0;
        for (long highMicros = 1; lowMicros * 1000 <= h.getMaxValue(); highMicros <<= 1) {
            long count = h.getCountBetweenValues(lowMicros * 1000, highMicros * 1000 - 1);
            if (count > 0) {
                int bar = (int) Math.max(1, 40 * count / total);
                sb.append(String.format("  %8d..%-8d us %10d %s%n", lowMicros, highMicros, count, "#".repeat(bar)));
            }
            lowMicros = highMicros;
        }
        return sb.toString();
    }

    private static double round(double v) {
        return Math.round(v * 10.0) / 10.0;
    }

    /** Request kinds as counted here. */
    enum Kind {
        READ,
        WRITE,
        FLUSH
    }
}
