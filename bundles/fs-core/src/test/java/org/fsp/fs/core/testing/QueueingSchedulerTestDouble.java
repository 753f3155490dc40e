package org.fsp.fs.core.testing;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;

/**
 * Test double of a {@link BlockScheduler} over a {@link HeapBlockDeviceTestDouble}'s memory: {@link #enqueue} only
 * queues, {@link #issue()} carries out and completes what is queued. Several of them can serve one device at the same
 * time (a real device's completions carry tags of one scheduler), which is what a scheduler swap test needs.
 */
public final class QueueingSchedulerTestDouble implements BlockScheduler {

    private final HeapBlockDeviceTestDouble device;
    private final ArrayDeque<BlockRequest> queued = new ArrayDeque<>();

    public QueueingSchedulerTestDouble(HeapBlockDeviceTestDouble device) {
        this.device = device;
    }

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public synchronized void enqueue(BlockRequest request) {
        queued.add(request);
    }

    @Override
    public synchronized int issue() {
        int n = 0;
        MemorySegment storage = device.storage();
        for (BlockRequest r; (r = queued.poll()) != null; n++) {
            long offset = r.block() * HeapBlockDeviceTestDouble.BLOCK;
            long bytes = r.buffer().byteSize();
            switch (r.op()) {
                case READ -> MemorySegment.copy(storage, offset, r.buffer(), 0, bytes);
                case WRITE -> MemorySegment.copy(r.buffer(), 0, storage, offset, bytes);
                case FLUSH -> bytes = 0;
            }
            r.complete((int) bytes);
        }
        return n;
    }

    @Override
    public int poll() {
        return 0;
    }

    @Override
    public int await(BlockRequest request) {
        while (!request.isDone()) {
            if (issue() == 0) {
                Thread.onSpinWait();
            }
        }
        return request.result();
    }

    @Override
    public synchronized int pending() {
        return queued.size();
    }

    @Override
    public String policy() {
        return "queueing test double";
    }
}
