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
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.cache.BufferCache;
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

    /**
     * Commits reuse the journal's mirror memory after a checkpoint: an image evicted from the cache is read back from
     * the journal before the checkpoint and from its home after it, never from a later commit's blocks.
     */
    @Test
    void shouldReadEvictedImagesFromTheJournalAndThenFromHomeAcrossMirrorReuse() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        BlockIo io = new BlockIo(new DirectBlockScheduler(d));
        Geometry g = Geometry.compute(4096, 64, 64);
        BufferCache cache = new BufferCache(io, 64L * Layout.BLOCK_SIZE);
        Journal journal = new Journal(io, cache, g, 1, seq -> {}, upTo -> {});
        long first = 1000;
        long second = 1001;
        commitFilled(journal, cache, first, (byte) 0x11);
        evictAll(cache);
        assertEquals(0x11, firstByte(cache, first), "image before the checkpoint, from the journal");
        assertEquals(0, d.storage().get(Layout.BYTE, first * Layout.BLOCK_SIZE), "not home yet");
        journal.checkpointNow();
        // The next commit lays its blocks at the start of the mirror again, where the first image lay.
        commitFilled(journal, cache, second, (byte) 0x22);
        evictAll(cache);
        assertEquals(0x11, firstByte(cache, first), "after the checkpoint, from home");
        assertEquals(0x22, firstByte(cache, second), "the new image");
        cache.close();
    }

    private static void commitFilled(Journal journal, BufferCache cache, long block, byte value) throws Exception {
        long seq;
        try (Journal.Handle h = journal.begin()) {
            Buffer b = cache.get(block, false);
            b.data().fill(value);
            h.tx().dirty(b);
            cache.release(b);
            seq = h.tx().seq();
        }
        journal.commitUpTo(seq);
    }

    /** Pins and releases more other blocks than the cache holds, so every earlier block is evicted. */
    private static void evictAll(BufferCache cache) throws Exception {
        for (long b = 2000; b < 2000 + 2L * cache.capacity(); b++) {
            cache.release(cache.get(b, false));
        }
    }

    private static int firstByte(BufferCache cache, long block) throws Exception {
        Buffer b = cache.get(block, true);
        try {
            return b.data().get(Layout.BYTE, 0);
        } finally {
            cache.release(b);
        }
    }
}
