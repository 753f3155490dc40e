package org.fsp.fs.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

class WriteBackTest {

    /** Records which threads wrote and the block numbers of each device write (one per device request). */
    private static final class ThreadRecordingDeviceTestDouble extends HeapBlockDeviceTestDouble {
        final Set<String> writers = ConcurrentHashMap.newKeySet();
        final List<Long> writeBlocks = java.util.Collections.synchronizedList(new ArrayList<>());
        /** Writes wait for it: lets a test hold the write-back thread until a writer is waiting for it. */
        volatile java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(0);

        ThreadRecordingDeviceTestDouble(long blocks) {
            super(blocks);
        }

        @Override
        protected void onWrite(long block, MemorySegment buffer) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            writers.add(Thread.currentThread().getName());
            writeBlocks.add(block / (Layout.BLOCK_SIZE / BLOCK));
        }
    }

    private static BufferCache cache(HeapBlockDeviceTestDouble d, int blocks) {
        return new BufferCache(new BlockIo(new DirectBlockScheduler(d)), (long) blocks * Layout.BLOCK_SIZE);
    }

    private static void dirty(BufferCache c, long from, int count) throws Exception {
        for (long b = from; b < from + count; b++) {
            Buffer buf = c.get(b, false);
            buf.data().set(ValueLayout.JAVA_LONG, 0, b);
            c.markDirty(buf);
            c.release(buf);
        }
    }

    @Test
    void shouldMakeAWriterOverTheDirtyLimitWaitForTheBackgroundThreadInsteadOfWritingItself() throws Exception {
        ThreadRecordingDeviceTestDouble d = new ThreadRecordingDeviceTestDouble(2048);
        BufferCache c = cache(d, 1024);
        WriteBack wb = new WriteBack(c, 64, 128, e -> {
            throw new AssertionError(e);
        });
        // The write-back thread may wake as soon as buffers turn dirty; held at the device until the writer waits, it
        // cannot have brought the count under the limit before throttle looks.
        d.gate = new java.util.concurrent.CountDownLatch(1);
        Thread opener = Thread.ofPlatform().daemon().start(() -> {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (wb.throttledWrites() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            d.gate.countDown();
        });
        wb.start("test-writeback");
        try {
            dirty(c, 100, 400);
            wb.throttle(List.of());
            opener.join();
            assertTrue(c.dirtyBuffers() <= 128, "throttle returned with " + c.dirtyBuffers() + " dirty");
            assertEquals(1, wb.throttledWrites());
            assertEquals(Set.of("test-writeback"), d.writers, "only the write-back thread writes");
            for (long b = 100; b < 500; b++) {
                if (!c.isDirty(b)) {
                    assertEquals(b, d.storage().get(ValueLayout.JAVA_LONG, b * Layout.BLOCK_SIZE), "block " + b);
                }
            }
        } finally {
            wb.close();
            c.close();
        }
    }

    @Test
    void shouldWakeTheThreadAboveTheBackgroundThresholdWithoutMakingTheWriterWait() throws Exception {
        ThreadRecordingDeviceTestDouble d = new ThreadRecordingDeviceTestDouble(2048);
        BufferCache c = cache(d, 1024);
        WriteBack wb = new WriteBack(c, 64, 512, e -> {
            throw new AssertionError(e);
        });
        // Dirtied before the thread starts: a round that began while the writer was still dirtying would take only
        // the blocks dirty then, and stop below the background threshold but above the round's target.
        dirty(c, 0, 100);
        wb.start("test-writeback");
        try {
            wb.throttle(List.of());
            assertEquals(0, wb.throttledWrites());
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (c.dirtyBuffers() > 32 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertTrue(c.dirtyBuffers() <= 32, c.dirtyBuffers() + " still dirty");
            assertTrue(wb.backgroundRounds() >= 1);
        } finally {
            wb.close();
            c.close();
        }
    }

    @Test
    void shouldWriteAdjacentDirtyBlocksAsFewLargeRequestsInBlockOrder() throws Exception {
        ThreadRecordingDeviceTestDouble d = new ThreadRecordingDeviceTestDouble(2048);
        BufferCache c = cache(d, 1024);
        dirty(c, 200, 256);
        List<Long> blocks = new ArrayList<>();
        for (long b = 455; b >= 200; b--) {
            blocks.add(b);
        }
        java.util.Collections.shuffle(blocks, new java.util.Random(7));
        c.writeBack(blocks);
        assertEquals(0, c.dirtyBuffers());
        // DirectBlockScheduler does not merge: what matters is the order the scheduler is handed, ascending blocks,
        // which is what lets the batching scheduler merge them.
        List<Long> ascending = new ArrayList<>(d.writeBlocks);
        ascending.sort(null);
        assertEquals(256, d.writeBlocks.size());
        assertEquals(ascending, d.writeBlocks);
        for (long b = 200; b < 456; b++) {
            assertEquals(b, d.storage().get(ValueLayout.JAVA_LONG, b * Layout.BLOCK_SIZE));
        }
        c.close();
    }

    @Test
    void shouldHaveTheWriterWriteItsOwnBlocksWhenNoThreadRuns() throws Exception {
        ThreadRecordingDeviceTestDouble d = new ThreadRecordingDeviceTestDouble(2048);
        BufferCache c = cache(d, 1024);
        WriteBack wb = new WriteBack(c, 8, 16, e -> {
            throw new AssertionError(e);
        });
        dirty(c, 0, 40);
        List<Long> own = new ArrayList<>();
        for (long b = 0; b < 40; b++) {
            own.add(b);
        }
        wb.throttle(own);
        assertEquals(0, c.dirtyBuffers());
        assertEquals(Set.of(Thread.currentThread().getName()), d.writers);
        c.close();
    }
}
