package org.fsp.block.nvme;

import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.api.block.BlockDevice;

/**
 * The request bookkeeping the polled drivers share (RAM, NVMe passthrough, the user-space NVMe driver): a fixed set
 * of slots, each holding one request from {@code submit*} until {@link BlockDevice#poll} reports it.
 *
 * <p>A slot goes through four states: <em>queued</em> ({@link #take}); <em>handed over</em> ({@link #handOver}, a
 * FIFO the driver issues from, {@link #nextHandedOver} and {@link #retireHandedOver}); <em>done</em> ({@link
 * #complete}, or {@link #commandDone} once the last of its device commands answered); and free again when
 * {@link #report} hands its tag and result to the poller. A request the device carries out as several commands (a
 * transfer above the controller's limit) counts them in {@link #commandsIssued} and {@link #commandsTotal}.
 *
 * <p>Thread safety: none of its own. The submission side ({@code take}, {@code handOver}, the handed-over FIFO) and
 * the completion side ({@code report}) may be two threads, each serialized by a lock of the driver: the free and
 * done queues between them are single-producer single-consumer. {@code complete} and {@code commandDone} run on
 * whichever side the driver carries requests out on.
 */
final class RequestSlots {

    static final byte READ = 0;
    static final byte WRITE = 1;
    static final byte FLUSH = 2;
    static final byte WRITE_ZEROES = 3;
    static final byte DEALLOCATE = 4;

    /**
     * The kind {@link DeviceStats} counts a request of {@code kind} under: reads and writes as themselves, every other
     * request (flushes, write-zeroes, deallocations) as a flush. Every driver that counts completions asks here, so
     * that their statistics mean the same.
     */
    static DeviceStats.Kind statsKind(byte kind) {
        return kind == READ ? DeviceStats.Kind.READ : kind == WRITE ? DeviceStats.Kind.WRITE : DeviceStats.Kind.FLUSH;
    }

    private final int capacity;
    private final AtomicInteger outstanding;
    private final DeviceStats stats;

    final long[] tags;
    final byte[] kinds;
    final long[] blocks;
    final long[] addresses;
    final int[] lengths;
    final long[] queuedNanos;
    final int[] commandsTotal;
    final int[] commandsIssued;
    final int[] commandsDone;
    final int[] results;

    private final OneToOneIntQueue free;
    private final OneToOneIntQueue done;
    private final int[] queued;
    private int queuedCount;
    private final int[] handedOver;
    private int handedOverHead;
    private int handedOverCount;

    /**
     * @param capacity slots
     * @param outstanding requests taken and not yet reported, possibly shared by several tables of one device; it
     *     also bounds {@link #take}
     * @param stats where {@link #report} records each completion and {@link #take} a full queue
     */
    RequestSlots(int capacity, AtomicInteger outstanding, DeviceStats stats) {
        this.capacity = capacity;
        this.outstanding = outstanding;
        this.stats = stats;
        tags = new long[capacity];
        kinds = new byte[capacity];
        blocks = new long[capacity];
        addresses = new long[capacity];
        lengths = new int[capacity];
        queuedNanos = new long[capacity];
        commandsTotal = new int[capacity];
        commandsIssued = new int[capacity];
        commandsDone = new int[capacity];
        results = new int[capacity];
        free = new OneToOneIntQueue(capacity);
        done = new OneToOneIntQueue(capacity);
        queued = new int[capacity];
        handedOver = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free.offer(i);
        }
    }

    /**
     * Queues a request of {@code commands} device commands.
     *
     * @param limit the most requests {@code outstanding} may count
     * @return its slot, or -1 if the slots or the limit are exhausted (recorded as a full queue)
     */
    int take(byte kind, long block, long address, int length, long tag, int commands, int limit) {
        long now = System.nanoTime();
        if (outstanding.incrementAndGet() > limit) {
            outstanding.decrementAndGet();
            stats.recordQueueFull();
            return -1;
        }
        int slot = free.poll();
        if (slot < 0) {
            outstanding.decrementAndGet();
            stats.recordQueueFull();
            return -1;
        }
        tags[slot] = tag;
        kinds[slot] = kind;
        blocks[slot] = block;
        addresses[slot] = address;
        lengths[slot] = length;
        queuedNanos[slot] = now;
        commandsTotal[slot] = commands;
        commandsIssued[slot] = 0;
        commandsDone[slot] = 0;
        results[slot] = 0;
        queued[queuedCount++] = slot;
        return slot;
    }

    /** Requests queued and not yet handed over. */
    int queuedCount() {
        return queuedCount;
    }

    /** Moves every queued request, in order, to the end of the handed-over FIFO; returns how many. */
    int handOver() {
        int n = queuedCount;
        for (int i = 0; i < n; i++) {
            handedOver[(handedOverHead + handedOverCount++) % capacity] = queued[i];
        }
        queuedCount = 0;
        return n;
    }

    /** The oldest handed-over request not yet fully issued, or -1. */
    int nextHandedOver() {
        return handedOverCount > 0 ? handedOver[handedOverHead] : -1;
    }

    /** Drops the oldest handed-over request from the FIFO: all its commands are issued (or it failed). */
    void retireHandedOver() {
        handedOverHead = (handedOverHead + 1) % capacity;
        handedOverCount--;
    }

    /** Requests handed over and not yet fully issued. */
    int handedOverCount() {
        return handedOverCount;
    }

    /**
     * One of the slot's commands answered: {@code error} (a negated errno, 0 for success) is kept if it is the
     * first; after the last command the request is done, with the first error or {@code success}.
     *
     * @return true if that was the request's last command
     */
    boolean commandDone(int slot, int error, int success) {
        if (error != 0 && results[slot] == 0) {
            results[slot] = error;
        }
        if (++commandsDone[slot] < commandsTotal[slot]) {
            return false;
        }
        complete(slot, results[slot] == 0 ? success : results[slot]);
        return true;
    }

    /** The request is done with {@code result}: {@link #report} hands it to the next poller. */
    void complete(int slot, int result) {
        results[slot] = result;
        done.offer(slot);
    }

    /** The result a successful request of this slot reports: its bytes, or 0 for a flush, zeroing or trim. */
    int successResult(int slot) {
        return kinds[slot] == READ || kinds[slot] == WRITE ? lengths[slot] : 0;
    }

    /** Reports up to {@code max} done requests to {@code handler}, freeing their slots first; returns how many. */
    int report(BlockDevice.CompletionHandler handler, int max) {
        int reported = 0;
        int slot;
        while (reported < max && (slot = done.poll()) >= 0) {
            long tag = tags[slot];
            byte kind = kinds[slot];
            int result = results[slot];
            stats.recordCompletion(statsKind(kind), result, System.nanoTime() - queuedNanos[slot]);
            free.offer(slot);
            outstanding.decrementAndGet();
            handler.onComplete(tag, result);
            reported++;
        }
        return reported;
    }

    /** At close: forgets done requests nobody will poll. */
    void dropDone() {
        while (done.poll() >= 0) {
            outstanding.decrementAndGet();
        }
    }
}
