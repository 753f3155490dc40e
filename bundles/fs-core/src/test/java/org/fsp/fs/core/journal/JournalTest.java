package org.fsp.fs.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.OpenFlags;
import org.fsp.fs.core.FsCore;
import org.fsp.fs.core.cache.BlockIo;
import org.fsp.fs.core.layout.Checksums;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.layout.SuperblockDescriptor;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

class JournalTest {

    private static final Credentials ROOT = Credentials.ROOT;

    /** A device whose flushes wait until the test opens a gate: commits pile up behind the first one. */
    private static final class SlowFlushDeviceTestDouble extends HeapBlockDeviceTestDouble {
        final CountDownLatch gate = new CountDownLatch(1);
        final AtomicInteger flushes = new AtomicInteger();
        volatile boolean holding;

        SlowFlushDeviceTestDouble(long blocks) {
            super(blocks);
        }

        @Override
        protected void onFlush() {
            flushes.incrementAndGet();
            if (holding) {
                try {
                    gate.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void shouldShareOneCommitAmongConcurrentFsyncs() throws Exception {
        SlowFlushDeviceTestDouble d = new SlowFlushDeviceTestDouble(4096);
        TestFs.format(d);
        FsCore fs = TestFs.mount(d);
        int threads = 8;
        long[] handles = new long[threads];
        for (int t = 0; t < threads; t++) {
            handles[t] = fs.open(ROOT, "/f" + t, OpenFlags.O_CREAT | OpenFlags.O_RDWR, 0644);
        }
        fs.sync();
        long commitsBefore = (Long) fs.status().get("journal.commits");
        d.holding = true;
        AtomicInteger entered = new AtomicInteger();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    fs.write(ROOT, handles[id], MemorySegment.ofArray(new byte[100 + id]));
                    entered.incrementAndGet();
                    fs.fsync(ROOT, handles[id]);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        while (entered.get() < threads) {
            Thread.onSpinWait();
        }
        // Let every worker reach the journal while the first commit's flush is held.
        Thread.sleep(300);
        d.holding = false;
        d.gate.countDown();
        for (Thread w : workers) {
            w.join();
        }
        long commits = (Long) fs.status().get("journal.commits") - commitsBefore;
        assertTrue(commits >= 1 && commits <= 3, threads + " fsyncs took " + commits + " commits");
        for (long h : handles) {
            fs.close(ROOT, h);
        }
        fs.unmount();
        assertEquals(List.of(), TestFs.fsck(d));
    }

    @Test
    void shouldIgnoreATransactionWhoseImageIsStaleEvenIfThatBlockIsSelfConsistent() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(2048);
        FsCore fs = TestFs.formatAndMount(d);
        fs.mkdir(ROOT, "/a", 0755);
        fs.sync();
        Geometry g = SuperblockDescriptor.read(d.storage().asSlice(0, Layout.BLOCK_SIZE));
        long seq = SuperblockDescriptor.journalSeq(d.storage().asSlice(0, Layout.BLOCK_SIZE));
        BlockIo io = new BlockIo(new DirectBlockScheduler(d));
        Journal.Contents intact = Journal.read(io, g, seq);
        assertTrue(intact.transactions() >= 1);
        // Replace the transaction's first image by another block that carries a valid CRC32C of its own: a
        // running CRC32C over the transaction would not notice; the commit's CRC32 must.
        MemorySegment image = d.storage().asSlice((g.journalStart() + 1) * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        image.fill((byte) 0x42);
        Checksums.sealTail(image);
        Journal.Contents torn = Journal.read(io, g, seq);
        assertEquals(0, torn.transactions());
        assertEquals(seq, torn.nextSeq());
        fs.unmount();
    }
}
