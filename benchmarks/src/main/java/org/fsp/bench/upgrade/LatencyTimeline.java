package org.fsp.bench.upgrade;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The longest operation latency per millisecond of start time, over a whole run: enough to answer "what was the
 * longest operation that overlapped this window" for any window afterwards, in 8 bytes per millisecond instead of a
 * record per operation. Start times are {@link System#nanoTime()} values; on Linux that is CLOCK_MONOTONIC, one clock
 * for every process of the machine, so a timeline written by a client JVM can be compared with windows measured by
 * the bench's JVM.
 *
 * <p>A typical sequence is: the client {@link #record}s every operation, {@link #writeTo} a file at the end; the bench
 * {@link #readFrom} that file and asks {@link #longestOverlapping} for each upgrade window. Not thread-safe: one
 * recording thread.
 */
final class LatencyTimeline {

    static final long BUCKET_NANOS = 1_000_000;

    /** The bucket (start time / {@link #BUCKET_NANOS}) of {@code maxLatency[0]}; -1 before the first record. */
    private long firstBucket = -1;
    /** Nanoseconds, the longest latency of an operation that started in each bucket; 0 if none started there. */
    private long[] maxLatency = new long[1024];

    void record(long startNanos, long latencyNanos) {
        long bucket = Math.floorDiv(startNanos, BUCKET_NANOS);
        if (firstBucket < 0) {
            firstBucket = bucket;
        }
        long index = bucket - firstBucket;
        if (index < 0) {
            throw new IllegalArgumentException("start time " + startNanos + " before the timeline's first record");
        }
        if (index >= maxLatency.length) {
            maxLatency = Arrays.copyOf(maxLatency, (int) Math.max(index + 1, 2L * maxLatency.length));
        }
        int i = (int) index;
        maxLatency[i] = Math.max(maxLatency[i], latencyNanos);
    }

    /**
     * The longest latency of an operation that ran during any part of [{@code fromNanos}, {@code toNanos}], 0 if none.
     * An operation overlaps when it started before the window ends and ended after it began; since only the bucket of
     * its start is known, an operation that ended up to one bucket before the window may be counted too (the windows
     * this is asked about last hundreds of milliseconds).
     */
    long longestOverlapping(long fromNanos, long toNanos) {
        if (firstBucket < 0) {
            return 0;
        }
        long last = Math.min(Math.floorDiv(toNanos, BUCKET_NANOS) - firstBucket, maxLatency.length - 1L);
        long longest = 0;
        for (int i = 0; i <= last; i++) {
            long bucketEnd = (firstBucket + i + 1) * BUCKET_NANOS;
            if (bucketEnd + maxLatency[i] > fromNanos) {
                longest = Math.max(longest, maxLatency[i]);
            }
        }
        return longest;
    }

    void writeTo(Path file) throws IOException {
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file)))) {
            int used = usedBuckets();
            out.writeLong(firstBucket);
            out.writeInt(used);
            for (int i = 0; i < used; i++) {
                out.writeLong(maxLatency[i]);
            }
        }
    }

    static LatencyTimeline readFrom(Path file) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            LatencyTimeline t = new LatencyTimeline();
            t.firstBucket = in.readLong();
            t.maxLatency = new long[Math.max(1, in.readInt())];
            for (int i = 0; i < t.maxLatency.length && t.firstBucket >= 0; i++) {
                t.maxLatency[i] = in.readLong();
            }
            return t;
        }
    }

    private int usedBuckets() {
        int used = maxLatency.length;
        while (used > 0 && maxLatency[used - 1] == 0) {
            used--;
        }
        return used;
    }
}
