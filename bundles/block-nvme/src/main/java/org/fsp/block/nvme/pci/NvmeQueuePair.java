package org.fsp.block.nvme.pci;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * One submission queue and the completion queue it posts to, both in DMA memory, driven by polling (NVMe 1.4,
 * section 4.1 "Submission Queue & Completion Queue Definition"; interrupts stay disabled).
 *
 * <p>A typical sequence is: {@link #hasSpace()}, {@link #claim()} and the {@code put*} methods to fill an entry,
 * again for a batch, then {@link #ringDoorbell()} once; later {@link #reap} hands each new completion to a
 * {@link CompletionSink} and rings the completion head doorbell once for the batch.
 *
 * <p>The queue is full when advancing the tail would make it equal the head (one entry stays empty, section 4.1.2);
 * the head is the SQ head pointer the controller reports in each completion. A completion is new when its phase tag
 * equals the phase this side expects, which starts at 1 and flips each time the head wraps (section 4.6).
 *
 * <p>Thread safety: none; the driver calls it under its own lock.
 */
public final class NvmeQueuePair {

    private static final VarHandle STATUS = ValueLayout.JAVA_SHORT.varHandle();

    private final int qid;
    private final int entries;
    private final DmaAllocator.DmaBuffer sq;
    private final DmaAllocator.DmaBuffer cq;
    private final ControllerRegisters registers;
    private final int sqTailDoorbell;
    private final int cqHeadDoorbell;

    private int sqTail;
    /** The controller's SQ head as of the last completion. */
    private int sqHead;

    private int rungTail;
    private int cqHead;
    private int phase = 1;

    /** Receives completions during {@link #reap}. */
    @FunctionalInterface
    public interface CompletionSink {
        /**
         * @param cid the command identifier
         * @param status the status field without the phase tag (0 = success)
         * @param result command specific DW0
         */
        void onCompletion(int cid, int status, int result);
    }

    /**
     * @param sq {@code entries} x 64 bytes, zeroed
     * @param cq {@code entries} x 16 bytes, zeroed
     * @param doorbellStrideBytes 4 &lt;&lt; CAP.DSTRD
     */
    public NvmeQueuePair(
            int qid,
            int entries,
            DmaAllocator.DmaBuffer sq,
            DmaAllocator.DmaBuffer cq,
            ControllerRegisters registers,
            int doorbellStrideBytes) {
        if (entries < 2 || entries > 65536) {
            throw new IllegalArgumentException("queue of " + entries + " entries outside 2..65536");
        }
        if (sq.segment().byteSize() < (long) entries * NvmeCommandDescriptor.LENGTH
                || cq.segment().byteSize() < (long) entries * NvmeCompletionDescriptor.LENGTH) {
            throw new IllegalArgumentException("queue memory too small for " + entries + " entries");
        }
        this.qid = qid;
        this.entries = entries;
        this.sq = sq;
        this.cq = cq;
        this.registers = registers;
        this.sqTailDoorbell = ControllerRegisterDescriptor.submissionTailDoorbell(qid, doorbellStrideBytes);
        this.cqHeadDoorbell = ControllerRegisterDescriptor.completionHeadDoorbell(qid, doorbellStrideBytes);
    }

    public int qid() {
        return qid;
    }

    public int entries() {
        return entries;
    }

    /** The submission queue's memory (for Create I/O SQ and ASQ). */
    public DmaAllocator.DmaBuffer submissionQueue() {
        return sq;
    }

    /** The completion queue's memory (for Create I/O CQ and ACQ). */
    public DmaAllocator.DmaBuffer completionQueue() {
        return cq;
    }

    /** True if one more entry may be claimed. */
    public boolean hasSpace() {
        return (sqTail + 1) % entries != sqHead;
    }

    /**
     * Takes the next submission entry, zeroed, with its opcode and command identifier set.
     *
     * @return the entry's byte offset in {@link #submissionQueue()}, for the {@code put*} methods
     * @throws IllegalStateException if the queue is full
     */
    public long claim(byte opcode, int cid) {
        if (!hasSpace()) {
            throw new IllegalStateException("submission queue " + qid + " is full");
        }
        long entry = (long) sqTail * NvmeCommandDescriptor.LENGTH;
        MemorySegment s = sq.segment();
        for (int i = 0; i < NvmeCommandDescriptor.LENGTH; i += Long.BYTES) {
            s.set(ValueLayout.JAVA_LONG, entry + i, 0L);
        }
        s.set(ValueLayout.JAVA_BYTE, entry + NvmeCommandDescriptor.OPCODE_OFFSET, opcode);
        s.set(ValueLayout.JAVA_SHORT, entry + NvmeCommandDescriptor.CID_OFFSET, (short) cid);
        sqTail = (sqTail + 1) % entries;
        return entry;
    }

    /** Writes a 32-bit field of a claimed entry. */
    public void putInt(long entry, int fieldOffset, int value) {
        sq.segment().set(ValueLayout.JAVA_INT, entry + fieldOffset, value);
    }

    /** Writes a 64-bit field of a claimed entry. */
    public void putLong(long entry, int fieldOffset, long value) {
        sq.segment().set(ValueLayout.JAVA_LONG, entry + fieldOffset, value);
    }

    /** Publishes every claimed entry: one tail doorbell write, ordered after the entries' stores. */
    public void ringDoorbell() {
        if (sqTail != rungTail) {
            rungTail = sqTail;
            registers.write32(sqTailDoorbell, sqTail);
        }
    }

    /**
     * Hands up to {@code max} new completions to {@code sink}, in order, then rings the head doorbell once.
     *
     * @return completions handed over
     */
    public int reap(CompletionSink sink, int max) {
        MemorySegment c = cq.segment();
        int n = 0;
        while (n < max) {
            long entry = (long) cqHead * NvmeCompletionDescriptor.LENGTH;
            // Acquire: the controller writes the entry and then its status; the other fields must not be read
            // before the phase tag says the entry is new.
            int status = (short) STATUS.getAcquire(c, entry + NvmeCompletionDescriptor.STATUS_OFFSET) & 0xFFFF;
            if ((status & NvmeCompletionDescriptor.PHASE_BIT) != phase) {
                break;
            }
            int cid = c.get(ValueLayout.JAVA_SHORT, entry + NvmeCompletionDescriptor.CID_OFFSET) & 0xFFFF;
            int result = c.get(ValueLayout.JAVA_INT, entry + NvmeCompletionDescriptor.RESULT_OFFSET);
            sqHead = c.get(ValueLayout.JAVA_SHORT, entry + NvmeCompletionDescriptor.SQ_HEAD_OFFSET) & 0xFFFF;
            cqHead++;
            if (cqHead == entries) {
                cqHead = 0;
                phase ^= 1;
            }
            n++;
            sink.onCompletion(cid, NvmeCompletionDescriptor.status(status), result);
        }
        if (n > 0) {
            registers.write32(cqHeadDoorbell, cqHead);
        }
        return n;
    }

    /** Entries claimed and not yet consumed by the controller, as of the last completion. */
    public int outstandingEntries() {
        return (sqTail - sqHead + entries) % entries;
    }
}
