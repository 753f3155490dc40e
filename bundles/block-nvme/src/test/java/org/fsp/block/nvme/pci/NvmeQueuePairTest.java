package org.fsp.block.nvme.pci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Submission and phase-bit reaping over queue memory the test writes itself, with doorbells recorded. */
class NvmeQueuePairTest {

    private final IdentityDmaMappingTestDouble mapping = new IdentityDmaMappingTestDouble(1 << 20);
    private final DmaAllocator dma = new DmaAllocator(mapping);
    private final List<String> doorbells = new ArrayList<>();
    private final ControllerRegisters recording = new ControllerRegisters() {
        @Override
        public int read32(int offset) {
            return 0;
        }

        @Override
        public void write32(int offset, int value) {
            doorbells.add(Integer.toHexString(offset) + "=" + value);
        }
    };
    private final NvmeQueuePair pair =
            new NvmeQueuePair(1, 4, dma.allocate(4 * 64), dma.allocate(4 * 16), recording, 4);

    @AfterEach
    void free() {
        mapping.close();
    }

    private void complete(int index, int cid, int sqHead, int status, int phase) {
        MemorySegment cq = pair.completionQueue().segment();
        long e = index * 16L;
        cq.set(ValueLayout.JAVA_SHORT, e + NvmeCompletionDescriptor.SQ_HEAD_OFFSET, (short) sqHead);
        cq.set(ValueLayout.JAVA_SHORT, e + NvmeCompletionDescriptor.CID_OFFSET, (short) cid);
        cq.set(ValueLayout.JAVA_SHORT, e + NvmeCompletionDescriptor.STATUS_OFFSET, (short) ((status << 1) | phase));
    }

    @Test
    void shouldWriteEntriesAndRingTheTailDoorbellOncePerBatch() {
        long a = pair.claim(NvmeOpcodes.NVM_READ, 7);
        pair.putInt(a, NvmeCommandDescriptor.CDW12_OFFSET, 3);
        pair.claim(NvmeOpcodes.NVM_WRITE, 8);
        pair.ringDoorbell();
        pair.ringDoorbell(); // nothing new: no second write
        MemorySegment sq = pair.submissionQueue().segment();
        assertEquals(NvmeOpcodes.NVM_READ, sq.get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(7, sq.get(ValueLayout.JAVA_SHORT, NvmeCommandDescriptor.CID_OFFSET));
        assertEquals(3, sq.get(ValueLayout.JAVA_INT, NvmeCommandDescriptor.CDW12_OFFSET));
        assertEquals(8, sq.get(ValueLayout.JAVA_SHORT, 64 + NvmeCommandDescriptor.CID_OFFSET));
        assertEquals(List.of("1008=2"), doorbells, "SQ1 tail doorbell with the new tail");
    }

    @Test
    void shouldKeepOneEntryEmptyAndFreeEntriesAsTheControllerReportsItsHead() {
        pair.claim(NvmeOpcodes.NVM_FLUSH, 0);
        pair.claim(NvmeOpcodes.NVM_FLUSH, 1);
        pair.claim(NvmeOpcodes.NVM_FLUSH, 2);
        assertFalse(pair.hasSpace(), "4 entries hold 3 commands");
        assertThrows(IllegalStateException.class, () -> pair.claim(NvmeOpcodes.NVM_FLUSH, 3));
        complete(0, 0, 2, 0, 1);
        assertEquals(1, pair.reap((cid, status, result) -> {}, 8));
        assertTrue(pair.hasSpace(), "the controller consumed two entries");
        assertEquals(1, pair.outstandingEntries());
    }

    @Test
    void shouldReapOnlyEntriesWhosePhaseTagIsCurrentAndFlipItOnWrap() {
        List<String> seen = new ArrayList<>();
        NvmeQueuePair.CompletionSink sink = (cid, status, result) -> seen.add(cid + ":" + status);
        assertEquals(0, pair.reap(sink, 8), "a zeroed queue has nothing new (phase starts at 1)");
        complete(0, 10, 1, 0, 1);
        complete(1, 11, 2, 0x80, 1);
        assertEquals(2, pair.reap(sink, 8));
        assertEquals(List.of("10:0", "11:128"), seen);
        assertEquals("100c=2", doorbells.get(doorbells.size() - 1), "CQ1 head doorbell once for the batch");
        complete(2, 12, 3, 0, 1);
        complete(3, 13, 0, 0, 1);
        complete(0, 14, 1, 0, 1); // stale phase after the wrap: not new
        assertEquals(2, pair.reap(sink, 8));
        assertEquals(0, pair.reap(sink, 8));
        complete(0, 14, 1, 0, 0); // second pass: phase 0 is new
        assertEquals(1, pair.reap(sink, 1));
        assertEquals(List.of("10:0", "11:128", "12:0", "13:0", "14:0"), seen);
    }

    @Test
    void shouldNeverReapMoreThanAsked() {
        complete(0, 1, 1, 0, 1);
        complete(1, 2, 2, 0, 1);
        assertEquals(1, pair.reap((c, s, r) -> {}, 1));
        assertEquals(1, pair.reap((c, s, r) -> {}, 1));
    }
}
