package org.fsp.fs.core.tools;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.fsp.api.block.BlockDevice;
import org.fsp.api.block.BlockRequest;
import org.fsp.api.block.BlockScheduler;

/**
 * The simplest {@link BlockScheduler}: requests go to the device in arrival order, no merging, no priorities. The
 * offline tools (mkfs, fsck) use it; the running service gets a real scheduler from block-sched.
 *
 * <p>A typical sequence is: {@code new DirectBlockScheduler(device)}, then {@link #enqueue} and {@link #await}.
 * Thread-safe: every method is synchronised except {@link #await}, which drives the others.
 */
public final class DirectBlockScheduler implements BlockScheduler {

    private final BlockDevice device;
    private final Map<Long, BlockRequest> inFlight = new HashMap<>();
    private final ArrayDeque<BlockRequest> queued = new ArrayDeque<>();
    private long nextTag = 1;

    public DirectBlockScheduler(BlockDevice device) {
        this.device = device;
    }

    @Override
    public BlockDevice device() {
        return device;
    }

    @Override
    public void enqueue(BlockRequest request) {
        long blocks =
                request.op() == BlockRequest.Op.FLUSH ? 0 : request.buffer().byteSize() / device.blockSize();
        if (request.block() < 0 || request.block() + blocks > device.blockCount()) {
            throw new IllegalArgumentException("request outside the device: " + request);
        }
        synchronized (this) {
            queued.add(request);
        }
    }

    @Override
    public synchronized int issue() {
        int n = 0;
        while (!queued.isEmpty()) {
            BlockRequest r = queued.peek();
            long tag = nextTag;
            boolean accepted =
                    switch (r.op()) {
                        case READ -> device.submitRead(r.block(), r.buffer(), tag);
                        case WRITE -> device.submitWrite(r.block(), r.buffer(), tag);
                        case FLUSH -> device.submitFlush(tag);
                    };
            if (!accepted) {
                break;
            }
            nextTag++;
            queued.poll();
            inFlight.put(tag, r);
            n++;
        }
        if (n > 0) {
            device.submit();
        }
        return n;
    }

    @Override
    public synchronized int poll() {
        return device.poll(
                (tag, result) -> {
                    BlockRequest r = inFlight.remove(tag);
                    if (r != null) {
                        r.complete(result);
                    }
                },
                Integer.MAX_VALUE);
    }

    @Override
    public int await(BlockRequest request) {
        while (!request.isDone()) {
            issue();
            if (poll() == 0 && !request.isDone()) {
                Thread.onSpinWait();
            }
        }
        return request.result();
    }

    @Override
    public synchronized int pending() {
        return queued.size() + inFlight.size();
    }

    @Override
    public String policy() {
        return "direct";
    }
}
