package org.fsp.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The read cache's block store: pages that grow as far blocks come, replacement, the last page, and clearing. */
class ClientReadCacheBlocksTest {

    @Test
    void shouldKeepBlocksNearAndFarAndCountEachOnce() {
        ClientReadCache.Blocks blocks = new ClientReadCache.Blocks();
        byte[] a = new byte[4096];
        byte[] b = new byte[4096];
        long far = 5L * ClientReadCache.Blocks.PAGE_BLOCKS + 7;
        assertTrue(blocks.put(3, a));
        assertTrue(blocks.put(far, b));
        assertSame(a, blocks.get(3));
        assertSame(b, blocks.get(far));
        assertNull(blocks.get(4));
        assertNull(blocks.get(far + ClientReadCache.Blocks.PAGE_BLOCKS * 100L), "beyond the pages there are");
        assertFalse(blocks.put(3, b), "a replacement is not a new block");
        assertSame(b, blocks.get(3));
        long past = (long) ClientReadCache.Blocks.MAX_PAGES * ClientReadCache.Blocks.PAGE_BLOCKS;
        assertFalse(blocks.put(past, a), "past the last page nothing is kept");
        assertNull(blocks.get(past));
        assertEquals(2, blocks.clear());
        assertNull(blocks.get(3));
        assertNull(blocks.get(far));
    }
}
