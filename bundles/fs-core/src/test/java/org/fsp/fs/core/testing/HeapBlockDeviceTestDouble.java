package org.fsp.fs.core.testing;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import org.fsp.api.block.BlockDevice;

/**
 * Test double: a {@link BlockDevice} in memory. Requests complete when submitted; completions wait for
 * {@link #poll}. Subclasses observe writes and flushes (see {@link RecordingBlockDeviceTestDouble}).
 */
public class HeapBlockDeviceTestDouble implements BlockDevice {

    public static final int BLOCK = 4096;

    private final Arena arena = Arena.ofAuto();
    protected final MemorySegment storage;
    private final long blocks;
    private final ArrayDeque<long[]> completions = new ArrayDeque<>();
    private boolean closed;

    public HeapBlockDeviceTestDouble(long blocks) {
        this.blocks = blocks;
        this.storage = arena.allocate(blocks * BLOCK, BLOCK);
    }

    /** The device's current contents (what reads return). */
    public MemorySegment storage() {
        return storage;
    }

    @Override
    public int blockSize() {
        return BLOCK;
    }

    @Override
    public long blockCount() {
        return blocks;
    }

    @Override
    public int bufferAlignment() {
        return BLOCK;
    }

    @Override
    public int queueDepth() {
        return 4096;
    }

    private void check(long block, MemorySegment buffer) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (block < 0 || block + buffer.byteSize() / BLOCK > blocks || buffer.byteSize() % BLOCK != 0) {
            throw new IllegalArgumentException("out of range: " + block + "+" + buffer.byteSize());
        }
    }

    @Override
    public synchronized boolean submitRead(long block, MemorySegment buffer, long tag) {
        check(block, buffer);
        MemorySegment.copy(storage, block * BLOCK, buffer, 0, buffer.byteSize());
        completions.add(new long[] {tag, buffer.byteSize()});
        return true;
    }

    @Override
    public synchronized boolean submitWrite(long block, MemorySegment buffer, long tag) {
        check(block, buffer);
        onWrite(block, buffer);
        MemorySegment.copy(buffer, 0, storage, block * BLOCK, buffer.byteSize());
        completions.add(new long[] {tag, buffer.byteSize()});
        return true;
    }

    @Override
    public synchronized boolean submitFlush(long tag) {
        onFlush();
        completions.add(new long[] {tag, 0});
        return true;
    }

    /** Hook: a write of {@code buffer} at {@code block} is about to land. */
    protected void onWrite(long block, MemorySegment buffer) {}

    /** Hook: a flush was submitted (every earlier write has completed). */
    protected void onFlush() {}

    @Override
    public int submit() {
        return 0;
    }

    @Override
    public synchronized int poll(CompletionHandler handler, int max) {
        int n = 0;
        while (n < max && !completions.isEmpty()) {
            long[] c = completions.poll();
            handler.onComplete(c[0], (int) c[1]);
            n++;
        }
        return n;
    }

    @Override
    public synchronized int inFlight() {
        return completions.size();
    }

    @Override
    public String describe() {
        return "heap test double, " + blocks + " blocks";
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
