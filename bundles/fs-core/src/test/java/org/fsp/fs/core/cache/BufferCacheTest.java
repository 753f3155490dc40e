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
}
