package org.fsp.block.sched;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.fsp.api.block.BlockDevice;

/**
 * Test double: an in-memory {@link BlockDevice} that records every request it accepts, in order, and performs them at
 * {@link #submit()}. Thread safe through one monitor; not fast, and not meant to be.
 */
final class RecordingBlockDevice implements BlockDevice {

    /** One accepted request: op is "R", "W" or "F"; blocks is 0 for a flush. */
    record Recorded(String op, long block, long blocks) {
        @Override
        public String toString() {
            return op.equals("F") ? "F" : op + block + "+" + blocks;
        }
    }

    static final int BLOCK_SIZE = 4096;

    private final Arena arena = Arena.ofShared();
    private final MemorySegment memory;
    private final long blockCount;
    private final int queueDepth;
    private final List<Recorded> accepted = new ArrayList<>();
    private final ArrayDeque<Object[]> queued = new ArrayDeque<>();
    private final ArrayDeque<long[]> done = new ArrayDeque<>();
    private int outstanding;
    private int submitCalls;
    /** While set, completions stay on the device (a slow device); {@link #poll} reaps none. */
    private boolean holding;

    RecordingBlockDevice(long blockCount, int queueDepth) {
        this.blockCount = blockCount;
        this.queueDepth = queueDepth;
        this.memory = arena.allocate(blockCount * BLOCK_SIZE, BLOCK_SIZE);
    }

    @Override
    public int blockSize() {
        return BLOCK_SIZE;
    }

    @Override
    public long blockCount() {
        return blockCount;
    }

    @Override
    public int bufferAlignment() {
        return BLOCK_SIZE;
    }

    @Override
    public int queueDepth() {
        return queueDepth;
    }

    @Override
    public synchronized boolean submitRead(long block, MemorySegment buffer, long tag) {
        return accept("R", block, buffer, tag);
    }

    @Override
    public synchronized boolean submitWrite(long block, MemorySegment buffer, long tag) {
        return accept("W", block, buffer, tag);
    }

    @Override
    public synchronized boolean submitFlush(long tag) {
        return accept("F", 0, MemorySegment.NULL, tag);
    }

    private boolean accept(String op, long block, MemorySegment buffer, long tag) {
        if (outstanding == queueDepth) {
            return false;
        }
        if (!op.equals("F") && (block < 0 || block + buffer.byteSize() / BLOCK_SIZE > blockCount)) {
            throw new IllegalArgumentException("out of range");
        }
        outstanding++;
        accepted.add(new Recorded(op, block, buffer.byteSize() / BLOCK_SIZE));
        queued.add(new Object[] {op, block, buffer, tag});
        return true;
    }

    @Override
    public synchronized int submit() {
        submitCalls++;
        int n = queued.size();
        for (Object[] q; (q = queued.poll()) != null; ) {
            String op = (String) q[0];
            long offset = (long) q[1] * BLOCK_SIZE;
            MemorySegment buffer = (MemorySegment) q[2];
            switch (op) {
                case "R" -> MemorySegment.copy(memory, offset, buffer, 0, buffer.byteSize());
                case "W" -> MemorySegment.copy(buffer, 0, memory, offset, buffer.byteSize());
                default -> {}
            }
            done.add(new long[] {(long) q[3], buffer.byteSize()});
        }
        return n;
    }

    @Override
    public synchronized int poll(CompletionHandler handler, int max) {
        if (holding) {
            return 0;
        }
        int n = 0;
        for (long[] d; n < max && (d = done.poll()) != null; n++) {
            outstanding--;
            handler.onComplete(d[0], (int) d[1]);
        }
        return n;
    }

    @Override
    public synchronized int inFlight() {
        return outstanding;
    }

    @Override
    public String describe() {
        return "recording test double";
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Holds completions back until {@link #releaseCompletions()}, as a device slower than any spin would. */
    synchronized void holdCompletions() {
        holding = true;
    }

    synchronized void releaseCompletions() {
        holding = false;
    }

    synchronized List<Recorded> accepted() {
        return Collections.unmodifiableList(new ArrayList<>(accepted));
    }

    synchronized int submitCalls() {
        return submitCalls;
    }

    MemorySegment memory() {
        return memory;
    }
}
