package org.fsp.block.nvme;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer single-consumer queue of ints (request slot numbers), allocation free.
 *
 * <p>The drivers use it to pass slot numbers between the completion side (which frees slots) and the submission side
 * (which takes them); each side is serialized by its own lock, so there is exactly one producer and one consumer at a
 * time, possibly different threads over time. The lock hand-over orders the accesses of successive holders of a
 * side; the release/acquire pair on head and tail orders the two sides with each other.
 */
final class OneToOneIntQueue {

    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            HEAD = lookup.findVarHandle(OneToOneIntQueue.class, "head", long.class);
            TAIL = lookup.findVarHandle(OneToOneIntQueue.class, "tail", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int[] elements;
    private final int mask;
    /** Next position to take; written by the consumer only. */
    @SuppressWarnings("unused") // accessed through HEAD
    private long head;
    /** Next position to fill; written by the producer only. */
    @SuppressWarnings("unused") // accessed through TAIL
    private long tail;

    /** @param capacity the most elements held at once; rounded up to a power of two */
    OneToOneIntQueue(int capacity) {
        int size = Integer.highestOneBit(Math.max(1, capacity - 1)) << 1;
        elements = new int[size];
        mask = size - 1;
    }

    /** Producer side: appends {@code value}; returns false if full. */
    boolean offer(int value) {
        long t = (long) TAIL.getOpaque(this);
        // Acquire: the consumer's head store follows its read of that element, so the cell is free to overwrite.
        if (t - (long) HEAD.getAcquire(this) == elements.length) {
            return false;
        }
        elements[(int) t & mask] = value;
        // Release: the element must be visible before the consumer can see the new tail.
        TAIL.setRelease(this, t + 1);
        return true;
    }

    /** Consumer side: removes the oldest element, or returns -1 if empty. */
    int poll() {
        long h = (long) HEAD.getOpaque(this);
        // Acquire: pairs with the producer's release of tail, so the element read below is the one it wrote.
        if (h == (long) TAIL.getAcquire(this)) {
            return -1;
        }
        int value = elements[(int) h & mask];
        // Release: the read above completes before the producer may reuse the cell.
        HEAD.setRelease(this, h + 1);
        return value;
    }

    /** Elements held; exact only when neither side is active. */
    int size() {
        return (int) ((long) TAIL.getAcquire(this) - (long) HEAD.getAcquire(this));
    }
}
