package org.fsp.block.nvme;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.block.BlockDevice;

/**
 * A {@link BlockDevice} in process memory: the back end that isolates the cost of the channel and the file system
 * from the cost of storage, as the FSP paper's memory configuration does.
 *
 * <p>It keeps the asynchronous contract exactly: {@code submit*} queues (false when {@link #queueDepth()} requests are
 * outstanding), {@link #submit()} performs the queued copies, {@link #poll} reports them. A flush completes at once
 * with 0: memory has no volatile cache to drain. Contents are lost on {@link #close()}, and kept by
 * {@link #detachMemory()} for a successor.
 *
 * <p>Buffers follow the same rules as for the io_uring driver (native, 4 KiB-aligned address and length), so that
 * code tested on RAM runs unchanged on a disk.
 */
public final class RamBlockDevice implements ObservableBlockDevice {

    /** Block size and buffer alignment, bytes. */
    public static final int BLOCK_SIZE = 4096;

    /**
     * All of memory, so that copies go by the caller's buffer address as a disk's DMA would: the buffer's owner may
     * be a confined arena of another thread, and {@link #submit()} may run on any thread.
     */
    private static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private final Arena arena;
    private final MemorySegment memory;
    private final long blockCount;
    private final int queueDepth;
    private final DeviceStats stats = new DeviceStats(() -> 0L);

    private final ReentrantLock sqLock = new ReentrantLock();
    private final ReentrantLock cqLock = new ReentrantLock();
    /** Submission side under sqLock (which also performs the copies), completion side under cqLock. */
    private final RequestSlots slots;

    private final AtomicInteger outstanding = new AtomicInteger();
    /** Guarded by sqLock. */
    private boolean closed;

    /**
     * @param sizeBytes capacity, a positive multiple of {@value #BLOCK_SIZE}
     * @param queueDepth the most requests outstanding at once
     */
    public RamBlockDevice(long sizeBytes, int queueDepth) {
        this(newMemory(sizeBytes), queueDepth);
    }

    /**
     * A device over memory a previous device {@linkplain #detachMemory() left behind} (a live upgrade of the driver):
     * the contents are kept.
     *
     * @param memory the contents, owned by {@code memory.scope()}'s arena, which this device closes on {@link #close()}
     */
    public RamBlockDevice(Memory memory, int queueDepth) {
        long sizeBytes = memory.segment().byteSize();
        if (sizeBytes <= 0 || sizeBytes % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException(
                    "RAM device size " + sizeBytes + " bytes is not a positive multiple of " + BLOCK_SIZE);
        }
        if (queueDepth < 1 || queueDepth > IoUringBlockDevice.MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException(
                    "queue depth " + queueDepth + " outside 1.." + IoUringBlockDevice.MAX_QUEUE_DEPTH);
        }
        this.arena = memory.arena();
        this.memory = memory.segment();
        this.blockCount = sizeBytes / BLOCK_SIZE;
        this.queueDepth = queueDepth;
        this.slots = new RequestSlots(queueDepth, outstanding, stats);
    }

    /** A RAM device's contents and the arena that owns them. */
    public record Memory(Arena arena, MemorySegment segment) {}

    private static Memory newMemory(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException(
                    "RAM device size " + sizeBytes + " bytes is not a positive multiple of " + BLOCK_SIZE);
        }
        Arena arena = Arena.ofShared();
        return new Memory(arena, arena.allocate(sizeBytes, BLOCK_SIZE));
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
    public boolean submitRead(long block, MemorySegment buffer, long tag) {
        int length = RequestChecks.checkTransfer(block, buffer, BLOCK_SIZE, blockCount, BLOCK_SIZE);
        return queue(RequestSlots.READ, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitWrite(long block, MemorySegment buffer, long tag) {
        int length = RequestChecks.checkTransfer(block, buffer, BLOCK_SIZE, blockCount, BLOCK_SIZE);
        return queue(RequestSlots.WRITE, block, buffer.address(), length, tag);
    }

    @Override
    public boolean submitFlush(long tag) {
        return queue(RequestSlots.FLUSH, 0, 0, 0, tag);
    }

    private boolean queue(byte kind, long block, long address, int length, long tag) {
        sqLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("RAM device is closed");
            }
            return slots.take(kind, block, address, length, tag, 1, queueDepth) >= 0;
        } finally {
            sqLock.unlock();
        }
    }

    /** Performs every queued request in order and makes its completion available to {@link #poll}. */
    @Override
    public int submit() {
        sqLock.lock();
        try {
            int n = slots.handOver();
            int slot;
            while ((slot = slots.nextHandedOver()) >= 0) {
                slots.retireHandedOver();
                long offset = slots.blocks[slot] * BLOCK_SIZE;
                switch (slots.kinds[slot]) {
                    case RequestSlots.READ ->
                        MemorySegment.copy(memory, offset, ALL_MEMORY, slots.addresses[slot], slots.lengths[slot]);
                    case RequestSlots.WRITE ->
                        MemorySegment.copy(ALL_MEMORY, slots.addresses[slot], memory, offset, slots.lengths[slot]);
                    default -> {
                        // A flush: nothing to drain.
                    }
                }
                slots.complete(slot, slots.successResult(slot));
            }
            return n;
        } finally {
            sqLock.unlock();
        }
    }

    @Override
    public int poll(CompletionHandler handler, int max) {
        if (!cqLock.tryLock()) {
            return 0;
        }
        try {
            return slots.report(handler, max);
        } finally {
            cqLock.unlock();
        }
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public String driver() {
        return "ram";
    }

    @Override
    public String mode() {
        return "memory";
    }

    @Override
    public DeviceStats stats() {
        return stats;
    }

    @Override
    public String describe() {
        return "ram mode=memory blocks=" + blockCount + "x" + BLOCK_SIZE + " qd=" + queueDepth;
    }

    /** Memory: it dies with the process. */
    @Override
    public boolean outlivesProcess() {
        return false;
    }

    /** Performs what is queued, drops completions nobody polled, and frees the memory. */
    @Override
    public void close() {
        shutDown(true);
    }

    /**
     * Stops the device as {@link #close()} does but leaves its memory open and returns it, for the next device to
     * {@linkplain #RamBlockDevice(Memory, int) carry on with} (a live upgrade of the driver). Callers drain first.
     */
    public Memory detachMemory() {
        shutDown(false);
        return new Memory(arena, memory);
    }

    private void shutDown(boolean freeMemory) {
        sqLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            sqLock.unlock();
        }
        submit();
        cqLock.lock();
        try {
            slots.dropDone();
            if (freeMemory) {
                arena.close();
            }
        } finally {
            cqLock.unlock();
        }
    }
}
