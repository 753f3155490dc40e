package org.fsp.fs.core.testing;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A heap device that can stop storing writes (it still completes them), as if the process died before they landed;
 * counts flushes.
 */
public final class LosingWritesDeviceTestDouble extends HeapBlockDeviceTestDouble {

    /** True: writes complete without being stored. */
    public volatile boolean losing;

    /** Flushes so far. */
    public final AtomicInteger flushes = new AtomicInteger();

    public LosingWritesDeviceTestDouble(long blocks) {
        super(blocks);
    }

    @Override
    public synchronized boolean submitWrite(long block, MemorySegment buffer, long tag) {
        if (!losing) {
            return super.submitWrite(block, buffer, tag);
        }
        MemorySegment discard = MemorySegment.ofArray(new byte[(int) buffer.byteSize()]);
        return super.submitRead(block, discard, tag);
    }

    /** The device as the next process finds it. */
    public HeapBlockDeviceTestDouble afterCrash() {
        HeapBlockDeviceTestDouble copy = new HeapBlockDeviceTestDouble(blockCount());
        MemorySegment.copy(storage, 0, copy.storage(), 0, storage.byteSize());
        return copy;
    }

    @Override
    protected void onFlush() {
        flushes.incrementAndGet();
    }
}
