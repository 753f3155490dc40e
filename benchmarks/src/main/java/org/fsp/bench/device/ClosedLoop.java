package org.fsp.bench.device;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;
import org.fsp.api.block.BlockDevice;

/**
 * One thread keeping {@code qd} requests in flight on a device (a closed loop: a request is issued as soon as one
 * completes), spinning and then parking while nothing completes; also the completion handler that times them.
 * A typical sequence is: {@code loop.run(warmup, false)}; {@code long elapsed = loop.run(duration, true)}; read
 * {@link #ios}, {@link #errors} and {@link #latencyNanos}.
 */
final class ClosedLoop implements BlockDevice.CompletionHandler {

    /** How long an idle loop parks in the device's wait before it looks again. */
    private static final long PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);

    private final BlockDevice device;
    private final int qd;
    private final boolean write;
    private final LongSupplier nextBlock;
    private final long spinNanos;
    private final MemorySegment[] buffers;
    private final long[] startNanos;
    private final int[] free;
    private int freeCount;
    private boolean measuring;
    final Histogram latencyNanos = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    long ios;
    long errors;

    /**
     * @param pool {@code qd} buffers of {@code bufferBytes} each, filled with a pattern here
     * @param nextBlock the device block of the next request
     * @param spinNanos how long an idle loop spins before it parks ({@link Long#MAX_VALUE}: never parks, as an
     *     SQPOLL ring must not)
     */
    ClosedLoop(
            BlockDevice device,
            MemorySegment pool,
            int qd,
            int bufferBytes,
            boolean write,
            LongSupplier nextBlock,
            long spinNanos) {
        this.device = device;
        this.qd = qd;
        this.write = write;
        this.nextBlock = nextBlock;
        this.spinNanos = spinNanos;
        this.buffers = new MemorySegment[qd];
        this.startNanos = new long[qd];
        this.free = new int[qd];
        for (int i = 0; i < qd; i++) {
            buffers[i] = pool.asSlice((long) i * bufferBytes, bufferBytes);
            buffers[i].fill((byte) (i + 1));
            free[freeCount++] = i;
        }
    }

    /** Runs for {@code durationNanos}, then drains; returns the measured span in nanoseconds. */
    long run(long durationNanos, boolean measure) {
        measuring = measure;
        ios = 0;
        errors = 0;
        latencyNanos.reset();
        long start = System.nanoTime();
        long end = start + durationNanos;
        long idleSince = 0;
        while (System.nanoTime() < end) {
            while (freeCount > 0) {
                int tag = free[--freeCount];
                startNanos[tag] = System.nanoTime();
                long block = nextBlock.getAsLong();
                boolean queued = write
                        ? device.submitWrite(block, buffers[tag], tag)
                        : device.submitRead(block, buffers[tag], tag);
                if (!queued) {
                    free[freeCount++] = tag;
                    break;
                }
            }
            device.submit();
            if (device.poll(this, qd) > 0) {
                idleSince = 0;
            } else if (idleSince == 0) {
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince < spinNanos) {
                Thread.onSpinWait();
            } else {
                // Spun long enough: park until a completion arrives (spin-then-park). The kernel engines sleep in
                // io_uring_enter; the NVMe driver has no kernel to wait in, so its wait only yields.
                device.awaitCompletion(PARK_NANOS);
                idleSince = 0;
            }
        }
        long elapsed = System.nanoTime() - start;
        measuring = false;
        while (device.inFlight() > 0) {
            device.submit();
            device.poll(this, qd);
        }
        return elapsed;
    }

    @Override
    public void onComplete(long tag, int result) {
        int t = (int) tag;
        if (measuring) {
            latencyNanos.recordValue(
                    Math.min(System.nanoTime() - startNanos[t], latencyNanos.getHighestTrackableValue()));
            ios++;
            if (result < 0) {
                errors++;
            }
        }
        free[freeCount++] = t;
    }
}
