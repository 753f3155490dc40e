package org.fsp.fs.core.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.List;
import org.fsp.fs.core.layout.Layout;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.tools.DirectBlockScheduler;
import org.junit.jupiter.api.Test;

class BufferCacheTest {

    private static final int CAPACITY_BLOCKS = 64;

    private static BufferCache cache(HeapBlockDeviceTestDouble d) {
        return new BufferCache(new BlockIo(new DirectBlockScheduler(d)), (long) CAPACITY_BLOCKS * Layout.BLOCK_SIZE);
    }

    @Test
    void shouldStayWithinItsMemoryBoundWhileReadingMoreBlocksThanFit() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        for (int b = 0; b < 1024; b++) {
            d.storage().set(ValueLayout.JAVA_INT, (long) b * Layout.BLOCK_SIZE, b);
        }
        BufferCache c = cache(d);
        for (int round = 0; round < 3; round++) {
            for (int b = 0; b < 1024; b++) {
                Buffer buf = c.get(b, true);
                assertEquals(b, buf.data().get(ValueLayout.JAVA_INT, 0));
                c.release(buf);
            }
        }
        assertEquals(CAPACITY_BLOCKS, c.capacity());
        assertEquals(0, c.overflowBuffers());
        c.close();
    }

    @Test
    void shouldWriteDirtyDataBackBeforeReusingItsMemory() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        BufferCache c = cache(d);
        Buffer buf = c.get(500, false);
        buf.data().set(ValueLayout.JAVA_INT, 0, 0xC0FFEE);
        c.markDirty(buf);
        c.release(buf);
        assertEquals(0, d.storage().get(ValueLayout.JAVA_INT, 500L * Layout.BLOCK_SIZE));
        for (int b = 0; b < 4 * CAPACITY_BLOCKS; b++) {
            c.release(c.get(b, true));
        }
        assertEquals(0xC0FFEE, d.storage().get(ValueLayout.JAVA_INT, 500L * Layout.BLOCK_SIZE));
        assertEquals(0, c.dirtyBuffers());
        c.close();
    }

    @Test
    void shouldReadAheadWithoutWaiting() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        d.storage().set(ValueLayout.JAVA_INT, 105L * Layout.BLOCK_SIZE, 105);
        BufferCache c = cache(d);
        c.prefetch(100, 8);
        for (int b = 100; b < 108; b++) {
            assertTrue(c.contains(b), "block " + b + " read ahead");
        }
        long misses = c.misses();
        Buffer buf = c.get(105, true);
        assertEquals(105, buf.data().get(ValueLayout.JAVA_INT, 0));
        c.release(buf);
        assertEquals(misses, c.misses(), "the read-ahead block was a hit");
        c.close();
    }

    @Test
    void shouldGrowPastItsBoundRatherThanWaitWhenEverythingIsPinned() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        BufferCache c = cache(d);
        List<Buffer> pinned = new java.util.ArrayList<>();
        for (int b = 0; b < CAPACITY_BLOCKS + 5; b++) {
            pinned.add(c.get(b, true));
        }
        assertEquals(5, c.overflowBuffers());
        pinned.forEach(c::release);
        c.close();
    }

    @Test
    void shouldReuseTheBuffersOfFreedBlocksBeforeTakingMoreMemory() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(4096);
        BufferCache c = new BufferCache(new BlockIo(new DirectBlockScheduler(d)), 4096L * Layout.BLOCK_SIZE);
        // Ten files of 100 blocks each written and deleted in turn, on new block numbers every time.
        for (int file = 0; file < 10; file++) {
            for (int k = 0; k < 100; k++) {
                long block = file * 100L + k;
                Buffer buf = c.get(block, false);
                c.markDirty(buf);
                c.release(buf);
            }
            for (int k = 0; k < 100; k++) {
                c.forget(file * 100L + k);
            }
        }
        assertEquals(256, c.allocatedBuffers(), "one slab: 1,000 blocks passed through 100 buffers at a time");
        assertEquals(0, c.dirtyBuffers());
        c.close();
    }

    @Test
    void shouldWriteBackExactlyTheDirtyBlocksAmongManyCleanOnes() throws Exception {
        HeapBlockDeviceTestDouble d = new HeapBlockDeviceTestDouble(1024);
        BufferCache c = new BufferCache(new BlockIo(new DirectBlockScheduler(d)), 1024L * Layout.BLOCK_SIZE);
        for (int b = 0; b < 600; b++) {
            c.release(c.get(b, true));
        }
        for (long b : List.of(7L, 300L, 599L)) {
            Buffer buf = c.get(b, true);
            buf.data().set(ValueLayout.JAVA_INT, 0, (int) b + 1);
            c.markDirty(buf);
            c.release(buf);
        }
        c.forget(300);
        assertEquals(2, c.dirtyBuffers());
        c.writeBackAll();
        assertEquals(0, c.dirtyBuffers());
        assertEquals(8, d.storage().get(ValueLayout.JAVA_INT, 7L * Layout.BLOCK_SIZE));
        assertEquals(600, d.storage().get(ValueLayout.JAVA_INT, 599L * Layout.BLOCK_SIZE));
        assertEquals(
                0, d.storage().get(ValueLayout.JAVA_INT, 300L * Layout.BLOCK_SIZE), "a freed block is not written");
        c.close();
    }
}
