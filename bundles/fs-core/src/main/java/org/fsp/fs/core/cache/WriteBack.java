package org.fsp.fs.core.cache;

import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.fsp.api.sched.ManagedBlocking;

/**
 * Background write-back of dirty data with a dirty limit, as the kernel's {@code dirty_background_ratio} and
 * {@code dirty_ratio}: once more than {@link #backgroundDirty()} buffers are dirty a write-back thread writes them
 * home in block order (so the scheduler merges them into large requests), and a writer that finds more than
 * {@link #dirtyLimit()} dirty waits until the thread has brought the count back under it, instead of writing back
 * in its own request while holding up whatever it serves. The wait is announced as blocking ({@link ManagedBlocking}):
 * a polling worker lends its other lanes meanwhile.
 *
 * <p>Without the thread (not {@link #start}ed, or after {@link #close}) a writer over the limit writes back the
 * blocks it names itself, which is what tests and tools get.
 *
 * <p>A typical sequence: {@code wb.start("fsp-writeback")}; after each write, outside file-system locks,
 * {@code wb.throttle(file.dirtyBlocks)}; at unmount {@code wb.close()}.
 */
public final class WriteBack implements AutoCloseable {

    /** Blocks written per batch: writers waiting for room go on after each. */
    static final int BATCH_BLOCKS = 1024;

    private final BufferCache cache;
    private final long backgroundDirty;
    private final long dirtyLimit;
    private final Consumer<IOException> onError;
    private final Queue<Thread> throttled = new ConcurrentLinkedQueue<>();

    private volatile Thread thread;
    private volatile boolean stop;
    private volatile boolean failed;
    private final AtomicLong throttledWrites = new AtomicLong();
    private volatile long backgroundRounds;

    /**
     * @param backgroundDirty dirty buffers above which the thread starts writing back
     * @param dirtyLimit dirty buffers above which writers wait
     * @param onError told once when a background write fails (the file system then stops writing)
     */
    public WriteBack(BufferCache cache, long backgroundDirty, long dirtyLimit, Consumer<IOException> onError) {
        if (backgroundDirty < 1 || dirtyLimit < backgroundDirty) {
            throw new IllegalArgumentException("background threshold " + backgroundDirty
                    + " must be at least 1 and at most the limit " + dirtyLimit);
        }
        this.cache = cache;
        this.backgroundDirty = backgroundDirty;
        this.dirtyLimit = dirtyLimit;
        this.onError = onError;
        cache.onBatchWritten(this::wakeThrottled);
    }

    /** Thresholds from the cache's capacity: background at 10%, limit at 20% (the kernel's defaults). */
    public static WriteBack forCapacity(BufferCache cache, Consumer<IOException> onError) {
        long capacity = cache.capacity();
        return new WriteBack(cache, Math.max(1, capacity / 10), Math.max(2, capacity / 5), onError);
    }

    public long backgroundDirty() {
        return backgroundDirty;
    }

    public long dirtyLimit() {
        return dirtyLimit;
    }

    /** Writes that waited on the dirty limit. */
    public long throttledWrites() {
        return throttledWrites.get();
    }

    /** Times the thread woke up and wrote back. */
    public long backgroundRounds() {
        return backgroundRounds;
    }

    public synchronized void start(String name) {
        if (thread == null) {
            stop = false;
            thread = Thread.ofPlatform().daemon().name(name).start(this::loop);
        }
    }

    /**
     * Called by a writer after it dirtied buffers, holding no file-system lock: wakes the thread above the background
     * threshold and waits above the limit. {@code ownBlocks} are the writer's file's dirty blocks, written by the
     * writer itself when there is no thread.
     */
    public void throttle(Collection<Long> ownBlocks) throws IOException {
        long dirty = cache.dirtyBuffers();
        if (dirty <= backgroundDirty) {
            return;
        }
        Thread t = thread;
        if (t == null || failed) {
            if (dirty > dirtyLimit) {
                cache.writeBack(List.copyOf(ownBlocks));
            }
            return;
        }
        LockSupport.unpark(t);
        if (dirty <= dirtyLimit) {
            return;
        }
        throttledWrites.incrementAndGet();
        Thread me = Thread.currentThread();
        boolean interrupted = false;
        ManagedBlocking.begin();
        throttled.add(me);
        try {
            while (cache.dirtyBuffers() > dirtyLimit && thread != null && !failed) {
                LockSupport.unpark(t);
                LockSupport.parkNanos(this, 10_000_000L);
                interrupted |= Thread.interrupted();
            }
        } finally {
            throttled.remove(me);
            ManagedBlocking.end();
            if (interrupted) {
                me.interrupt();
            }
        }
    }

    private void wakeThrottled() {
        throttled.forEach(LockSupport::unpark);
    }

    private void loop() {
        while (!stop) {
            if (cache.dirtyBuffers() <= backgroundDirty) {
                wakeThrottled();
                LockSupport.park(this);
                continue;
            }
            backgroundRounds++;
            try {
                // Down to half the background threshold, so the thread does not wake for every few writes.
                if (cache.writeBackDirty(BATCH_BLOCKS, backgroundDirty / 2) == 0) {
                    // Everything dirty is being written by someone else (an fsync): look again shortly.
                    LockSupport.parkNanos(this, 1_000_000L);
                }
            } catch (IOException e) {
                failed = true;
                wakeThrottled();
                onError.accept(e);
                return;
            }
        }
    }

    /** Stops the thread after its current batch; stopped by a flag and an unpark, never by an interrupt. */
    @Override
    public synchronized void close() {
        Thread t = thread;
        if (t == null) {
            return;
        }
        stop = true;
        LockSupport.unpark(t);
        boolean interrupted = false;
        while (t.isAlive()) {
            try {
                t.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        thread = null;
        wakeThrottled();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
