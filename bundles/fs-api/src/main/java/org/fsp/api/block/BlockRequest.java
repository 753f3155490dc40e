package org.fsp.api.block;

import java.lang.foreign.MemorySegment;

/**
 * One request to a {@link BlockScheduler}: what to do, where, how urgent, and its completion.
 *
 * <p>The submitter fills it in, hands it to {@link BlockScheduler#enqueue}, and observes {@link #isDone()} (an
 * acquire load) until the scheduler's poll phase has stored the result (a release store). A request object may be
 * reused after it is done via {@link #reset}.
 */
public final class BlockRequest {

    /** What the request does. */
    public enum Op {
        READ,
        WRITE,
        FLUSH
    }

    /** Priority classes; lower ordinal goes first. Journal commits and flushes overtake bulk data. */
    public enum Priority {
        JOURNAL,
        METADATA,
        DATA
    }

    private static final java.lang.invoke.VarHandle RESULT;

    static {
        try {
            RESULT = java.lang.invoke.MethodHandles.lookup().findVarHandle(BlockRequest.class, "result", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Marks a request that has not completed yet. */
    public static final int PENDING = Integer.MIN_VALUE;

    private Op op;
    private Priority priority;
    private long block;
    private MemorySegment buffer;

    @SuppressWarnings("unused") // accessed through RESULT
    private int result = PENDING;

    private BlockRequest(Op op, Priority priority, long block, MemorySegment buffer) {
        reset(op, priority, block, buffer);
    }

    public static BlockRequest read(long block, MemorySegment buffer, Priority priority) {
        return new BlockRequest(Op.READ, priority, block, buffer);
    }

    public static BlockRequest write(long block, MemorySegment buffer, Priority priority) {
        return new BlockRequest(Op.WRITE, priority, block, buffer);
    }

    public static BlockRequest flush() {
        return new BlockRequest(Op.FLUSH, Priority.JOURNAL, 0, MemorySegment.NULL);
    }

    /** Reuses this object for a new request; only legal once the previous one is done. */
    public BlockRequest reset(Op op, Priority priority, long block, MemorySegment buffer) {
        this.op = op;
        this.priority = priority;
        this.block = block;
        this.buffer = buffer;
        RESULT.setRelease(this, PENDING);
        return this;
    }

    public Op op() {
        return op;
    }

    public Priority priority() {
        return priority;
    }

    /** First block, in units of the device's block size. */
    public long block() {
        return block;
    }

    /** The data buffer; {@link MemorySegment#NULL} for a flush. */
    public MemorySegment buffer() {
        return buffer;
    }

    /** Called by the scheduler's poll phase; the release store publishes the buffer's contents with the result. */
    public void complete(int result) {
        RESULT.setRelease(this, result);
    }

    /** True once completed; the acquire load makes the buffer's contents visible to the caller. */
    public boolean isDone() {
        return (int) RESULT.getAcquire(this) != PENDING;
    }

    /** Bytes transferred, or a negated errno; {@link #PENDING} until done. */
    public int result() {
        return (int) RESULT.getAcquire(this);
    }

    @Override
    public String toString() {
        return op + "[" + priority + ", block " + block + ", " + buffer.byteSize() + " bytes]";
    }
}
