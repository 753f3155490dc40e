package org.fsp.fs.core.alloc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.testing.FsPieces;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The allocator on a freshly formatted image, with a real journal for its transactions: runs that never overlap
 * under concurrency, goals honoured, freed blocks held back until the checkpoint after their transaction, and bitmaps
 * that read back the same after a checkpoint.
 */
class AllocatorTest {

    private HeapBlockDeviceTestDouble device;
    private Geometry g;
    private BufferCache cache;
    private Journal journal;
    private Allocator alloc;

    @BeforeEach
    void mountPieces() throws IOException {
        device = new HeapBlockDeviceTestDouble(2048);
        TestFs.format(device);
        open();
    }

    private void open() throws IOException {
        FsPieces p = FsPieces.open(device);
        g = p.geometry();
        cache = p.cache();
        alloc = p.alloc();
        journal = p.journal();
    }

    private long[] allocate(long goal, int max) throws IOException {
        try (Journal.Handle h = journal.begin()) {
            return alloc.allocBlocks(h.tx(), goal, max);
        }
    }

    /** Frees a run and returns the sequence of the transaction that freed it. */
    private long free(long start, long len) throws IOException {
        try (Journal.Handle h = journal.begin()) {
            alloc.freeBlocks(h.tx(), start, len);
            return h.tx().seq();
        }
    }

    @Test
    void concurrentAllocationsNeverHandOutTheSameBlockTwice() throws Exception {
        long before = alloc.freeBlocks();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<List<long[]>>> results = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            long seed = t;
            results.add(pool.submit(() -> {
                Random rnd = new Random(seed);
                List<long[]> runs = new ArrayList<>();
                for (int i = 0; i < 60; i++) {
                    long[] r = allocate(
                            g.dataStart() + rnd.nextInt((int) (g.totalBlocks() - g.dataStart())), 1 + rnd.nextInt(6));
                    if (r != null) {
                        runs.add(r);
                    }
                }
                return runs;
            }));
        }
        BitSet seen = new BitSet();
        long total = 0;
        for (Future<List<long[]>> f : results) {
            for (long[] r : f.get()) {
                assertTrue(r[1] >= 1, "empty run");
                for (long b = r[0]; b < r[0] + r[1]; b++) {
                    assertTrue(b >= g.dataStart() && b < g.totalBlocks(), "block " + b + " outside the data region");
                    assertFalse(seen.get((int) b), "block " + b + " handed out twice");
                    seen.set((int) b);
                    assertTrue(alloc.blockInUse(b));
                }
                total += r[1];
            }
        }
        pool.shutdown();
        assertEquals(before - total, alloc.freeBlocks());
    }

    @Test
    void aFreeGoalIsWhereTheRunStarts() throws IOException {
        long goal = g.dataStart() + 100;
        long[] r = allocate(goal, 8);
        assertEquals(goal, r[0]);
        assertEquals(8, r[1]);
        long[] next = allocate(goal, 4);
        assertEquals(goal + 8, next[0], "the next free block after the goal");
    }

    @Test
    void freedBlocksAreNotReusedUntilTheCheckpointAfterTheirTransaction() throws IOException {
        List<long[]> all = new ArrayList<>();
        for (long[] r; (r = allocate(g.dataStart(), 64)) != null; ) {
            all.add(r);
        }
        assertEquals(0, alloc.freeBlocks(), "the device is full");
        long[] victim = all.get(all.size() / 2);
        long seq = free(victim[0], victim[1]);
        assertEquals(victim[1], alloc.pendingFreeBlocks());
        assertNull(allocate(g.dataStart(), 64), "a block freed by an uncheckpointed transaction was reused");
        alloc.releaseFreed(seq - 1);
        assertNull(allocate(g.dataStart(), 64), "released by an older checkpoint");
        journal.commitUpTo(seq);
        journal.checkpointNow();
        assertEquals(0, alloc.pendingFreeBlocks());
        long[] again = allocate(g.dataStart(), 64);
        assertNotNull(again);
        assertEquals(victim[0], again[0]);
        assertEquals(victim[1], again[1]);
    }

    @Test
    void freeingBlocksOutsideTheDataRegionOrNotInUseIsCorruption() throws IOException {
        assertThrows(CorruptMetadataException.class, () -> free(g.dataStart() - 1, 1));
        assertThrows(CorruptMetadataException.class, () -> free(g.totalBlocks() - 1, 2));
        long[] r = allocate(g.dataStart(), 1);
        free(r[0], 1);
        assertThrows(CorruptMetadataException.class, () -> free(r[0], 1));
    }

    @Test
    void aRunFreedInPartsNamesTheFirstItemNotInUseAndCountsEachBlockFreeOnce() throws IOException {
        long[] r = allocate(g.dataStart() + 10, 4);
        long before = alloc.freeBlocks();
        long seq = free(r[0] + 1, 2);
        CorruptMetadataException e = assertThrows(CorruptMetadataException.class, () -> free(r[0], 4));
        assertTrue(e.getMessage().contains("item " + (r[0] + 1) + " "), e.getMessage());
        journal.commitUpTo(seq);
        journal.checkpointNow();
        assertEquals(before + 2, alloc.freeBlocks());
        seq = free(r[0], 1);
        seq = Math.max(seq, free(r[0] + 3, 1));
        journal.commitUpTo(seq);
        journal.checkpointNow();
        assertEquals(before + 4, alloc.freeBlocks());
    }

    @Test
    void inodesAreUniqueAndAFreedOneCanBeHadAgain() throws IOException {
        long before = alloc.freeInodes();
        BitSet seen = new BitSet();
        long last = 0;
        try (Journal.Handle h = journal.begin()) {
            for (int i = 0; i < 50; i++) {
                Allocator.NewInode n = alloc.allocInode(h.tx(), Geometry.ROOT_INO);
                assertFalse(seen.get((int) n.ino()), "inode " + n.ino() + " twice");
                assertTrue(n.ino() != Geometry.ROOT_INO && n.ino() != 0);
                seen.set((int) n.ino());
                last = n.ino();
            }
            assertEquals(before - 50, alloc.freeInodes());
            alloc.freeInode(h.tx(), last);
            assertFalse(alloc.inodeInUse(last));
            assertEquals(last, alloc.allocInode(h.tx(), last).ino());
        }
    }

    @Test
    void bitmapsReadBackTheSameAfterACheckpoint() throws IOException {
        List<long[]> runs = new ArrayList<>();
        Random rnd = new Random(3);
        for (int i = 0; i < 40; i++) {
            runs.add(allocate(g.dataStart() + rnd.nextInt(500), 1 + rnd.nextInt(9)));
        }
        long freeBlocks = alloc.freeBlocks();
        long seq = journal.runningSeq();
        journal.commitUpTo(seq);
        journal.checkpointNow();
        open();
        assertEquals(freeBlocks, alloc.freeBlocks());
        for (long[] r : runs) {
            for (long b = r[0]; b < r[0] + r[1]; b++) {
                assertTrue(alloc.blockInUse(b), "block " + b + " lost by the checkpoint");
            }
        }
    }
}
