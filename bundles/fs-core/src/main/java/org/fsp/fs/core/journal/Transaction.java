package org.fsp.fs.core.journal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.fs.core.cache.Buffer;

/**
 * The running compound transaction: every operation that starts while it runs adds its metadata buffers to it, and
 * it commits as a whole (ext3/jbd2 style), which is what makes group commit free: one commit covers every operation
 * that joined.
 *
 * <p>Thread-safe: many operations add buffers concurrently; the journal reads the lists only while no operation runs.
 */
public final class Transaction {

    private final long seq;
    final ConcurrentLinkedQueue<Buffer> buffers = new ConcurrentLinkedQueue<>();
    final AtomicInteger size = new AtomicInteger();
    final Set<Long> orderedData = ConcurrentHashMap.newKeySet();
    /** Runs of blocks this transaction frees, as {start, length}. */
    final ConcurrentLinkedQueue<long[]> freed = new ConcurrentLinkedQueue<>();

    Transaction(long seq) {
        this.seq = seq;
    }

    /** This transaction's sequence number; it commits with this number in the journal. */
    public long seq() {
        return seq;
    }

    /** Adds a metadata buffer the caller has just changed (idempotent). */
    public void dirty(Buffer b) {
        if (b.txSeq() == seq) {
            return;
        }
        if (b.joinTx(seq)) {
            buffers.add(b);
            size.incrementAndGet();
        } else if (b.txSeq() != seq) {
            throw new IllegalStateException(
                    "buffer " + b.block() + " belongs to transaction " + b.txSeq() + " while " + seq + " runs");
        }
    }

    /**
     * Records a data block newly allocated in this transaction: it must reach the device before the metadata that
     * points at it commits (ordered data).
     */
    public void ordered(long block) {
        orderedData.add(block);
    }

    /**
     * Records blocks this transaction frees: once it is durable, a checkpoint need not write their committed images
     * home (no inode points at them, and nothing reuses them before that checkpoint ends).
     */
    public void freed(long start, long len) {
        freed.add(new long[] {start, len});
    }

    /** Metadata buffers in the transaction. */
    public int size() {
        return size.get();
    }
}
