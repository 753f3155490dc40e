package org.fsp.fs.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.zip.CRC32;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.Checksums;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.JournalDescriptor;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

/** The journal read in chunks: transactions across chunk boundaries, the end of the log, and how many reads it took. */
class JournalReaderTest {

    private static final long FIRST_SEQ = 7;

    /** Counts the device reads the reader makes. */
    private static final class CountingDeviceTestDouble extends HeapBlockDeviceTestDouble {
        final AtomicInteger reads = new AtomicInteger();

        CountingDeviceTestDouble(long blocks) {
            super(blocks);
        }

        @Override
        public synchronized boolean submitRead(long block, MemorySegment buffer, long tag) {
            reads.incrementAndGet();
            return super.submitRead(block, buffer, tag);
        }
    }

    private final CountingDeviceTestDouble device = new CountingDeviceTestDouble(8192);
    private final Geometry g = Geometry.compute(8192, 1024, 1024);

    @Test
    void shouldReadEveryCommittedTransactionAcrossChunkBoundariesInFewReads() throws Exception {
        long pos = 0;
        int tx = 0;
        List<Long> homes = new ArrayList<>();
        // Transactions of 1..13 images until about 700 journal blocks: several straddle the 256-block chunks.
        while (pos < 700) {
            int images = 1 + tx % 13;
            List<Long> these = new ArrayList<>();
            for (int i = 0; i < images; i++) {
                these.add(g.dataStart() + homes.size() + i);
            }
            pos = writeTransaction(pos, FIRST_SEQ + tx, these);
            homes.addAll(these);
            tx++;
        }
        device.reads.set(0);
        Journal.Contents c = Journal.read(new BlockIo(new DirectBlockScheduler(device)), g, FIRST_SEQ);
        assertEquals(tx, c.transactions());
        assertEquals(FIRST_SEQ + tx, c.nextSeq());
        assertEquals(homes, List.copyOf(c.images().keySet()));
        for (long home : homes) {
            assertEquals(home, c.images().get(home).get(Layout.LONG, 0), "image of block " + home);
        }
        assertEquals(3, device.reads.get(), "journal blocks 0-767 in reads of 256");
    }

    @Test
    void shouldStopAtATornTransactionThatStraddlesAChunk() throws Exception {
        long pos = 0;
        int tx = 0;
        while (pos < 250) {
            pos = writeTransaction(pos, FIRST_SEQ + tx++, List.of(g.dataStart() + tx));
        }
        long tornAt = pos;
        writeTransaction(pos, FIRST_SEQ + tx, List.of(g.dataStart() + 100, g.dataStart() + 101, g.dataStart() + 102));
        // Its commit block is the first of the next chunk; its last image, the last of this one, is not what the
        // commit's CRC covers.
        device.storage()
                .asSlice((g.journalStart() + tornAt + 3) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE)
                .set(Layout.LONG, 8, 99);
        Journal.Contents c = Journal.read(new BlockIo(new DirectBlockScheduler(device)), g, FIRST_SEQ);
        assertEquals(tx, c.transactions());
        assertEquals(FIRST_SEQ + tx, c.nextSeq());
    }

    /** Writes one transaction at journal block {@code pos} whose images carry their home number; returns the next. */
    private long writeTransaction(long pos, long seq, List<Long> homes) {
        CRC32 crc = new CRC32();
        MemorySegment descriptor = journalBlock(pos++);
        JournalDescriptor.header(descriptor, JournalDescriptor.TYPE_DESCRIPTOR, seq, homes.size(), 0);
        for (int i = 0; i < homes.size(); i++) {
            descriptor.set(Layout.LONG, JournalDescriptor.HOMES_OFFSET + 8L * i, homes.get(i));
        }
        Checksums.sealTail(descriptor);
        crc.update(descriptor.asByteBuffer());
        for (long home : homes) {
            MemorySegment image = journalBlock(pos++);
            image.fill((byte) 0);
            image.set(Layout.LONG, 0, home);
            Checksums.sealTail(image);
            crc.update(image.asByteBuffer());
        }
        MemorySegment commit = journalBlock(pos++);
        JournalDescriptor.header(commit, JournalDescriptor.TYPE_COMMIT, seq, homes.size(), (int) crc.getValue());
        Checksums.sealTail(commit);
        return pos;
    }

    private MemorySegment journalBlock(long pos) {
        return device.storage().asSlice((g.journalStart() + pos) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
    }
}
