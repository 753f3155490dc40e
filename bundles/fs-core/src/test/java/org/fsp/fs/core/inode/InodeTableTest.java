package org.fsp.fs.core.inode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.fsp.api.fs.FileMode;
import org.fsp.fs.core.alloc.Allocator;
import org.fsp.fs.core.alloc.CorruptMetadataException;
import org.fsp.fs.core.cache.BufferCache;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.InodeDescriptor;
import org.fsp.fs.core.testing.FsPieces;
import org.fsp.fs.core.testing.HeapBlockDeviceTestDouble;
import org.fsp.fs.core.testing.TestFs;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The inode table through a reload from the image: attributes, inline extents and extent chains of several blocks
 * read back as stored; a shrinking chain gives its blocks back; a freed inode is gone from disk and its number free.
 */
class InodeTableTest {

    private HeapBlockDeviceTestDouble device;
    private FsPieces pieces;
    private Geometry g;
    private BufferCache cache;
    private Allocator alloc;
    private InodeTable table;
    private Journal journal;

    @BeforeEach
    void format() throws IOException {
        device = new HeapBlockDeviceTestDouble(4096);
        TestFs.format(device);
        open();
    }

    private void open() throws IOException {
        pieces = FsPieces.open(device);
        FsPieces p = pieces;
        g = p.geometry();
        cache = p.cache();
        alloc = p.alloc();
        table = p.table();
        journal = p.journal();
    }

    private void checkpointAndReload() throws IOException {
        pieces.checkpoint();
        open();
    }

    private Inode create(int mode) throws IOException {
        try (Journal.Handle h = journal.begin()) {
            return table.create(h.tx(), Geometry.ROOT_INO, mode, 1000, 100, 123_456_789L, Geometry.ROOT_INO);
        }
    }

    private void store(Inode i) throws IOException {
        try (Journal.Handle h = journal.begin()) {
            i.lock.lock();
            try {
                table.store(h.tx(), i, true);
            } finally {
                i.lock.unlock();
            }
        }
    }

    @Test
    void attributesReadBackAsStored() throws IOException {
        Inode i = create(FileMode.S_IFREG | 0640);
        i.size = 12_345;
        i.nlink = 3;
        i.mtime = 42;
        i.generation = 7;
        i.extents.insert(0, 3, g.dataStart() + 10);
        store(i);
        long ino = i.ino;
        checkpointAndReload();
        Inode back = table.get(ino);
        assertNotSame(i, back);
        assertEquals(FileMode.S_IFREG | 0640, back.mode);
        assertEquals(1000, back.uid);
        assertEquals(100, back.gid);
        assertEquals(12_345, back.size);
        assertEquals(3, back.nlink);
        assertEquals(42, back.mtime);
        assertEquals(123_456_789L, back.ctime);
        assertEquals(7, back.generation);
        assertEquals(Geometry.ROOT_INO, back.parent);
        assertEquals(g.dataStart() + 11, back.extents.map(1));
    }

    @Test
    void anExtentChainOfSeveralBlocksReadsBackAndShrinkingItFreesItsBlocks() throws IOException {
        Inode i = create(FileMode.S_IFREG | 0644);
        int extents = InodeDescriptor.INLINE_EXTENTS + 700;
        for (int e = 0; e < extents; e++) {
            // Every other logical block, physically far apart: no two extents merge.
            i.extents.insert(2L * e, 1, g.dataStart() + 3L * e);
        }
        long blocksBefore = i.blocks;
        store(i);
        int chainBlocks = i.chain.length;
        assertTrue(chainBlocks >= 2, "700 extents beyond the inline ones need several chain blocks: " + chainBlocks);
        assertEquals(blocksBefore + chainBlocks, i.blocks, "chain blocks count in the inode's blocks");
        long ino = i.ino;
        checkpointAndReload();
        Inode back = table.get(ino);
        assertEquals(extents, back.extents.count());
        for (int e = 0; e < extents; e++) {
            assertEquals(g.dataStart() + 3L * e, back.extents.map(2L * e), "extent " + e);
            assertEquals(0, back.extents.map(2L * e + 1));
        }
        assertEquals(chainBlocks, back.chain.length);
        back.extents.truncate(4);
        store(back);
        assertEquals(0, back.chain.length);
        assertEquals(chainBlocks, alloc.pendingFreeBlocks(), "the chain's blocks are freed");
        checkpointAndReload();
        assertEquals(2, table.get(ino).extents.count());
    }

    @Test
    void aFreedInodeIsGoneFromTheImageAndItsNumberFree() throws IOException {
        Inode i = create(FileMode.S_IFREG | 0644);
        long ino = i.ino;
        long freeBefore = alloc.freeInodes();
        try (Journal.Handle h = journal.begin()) {
            table.free(h.tx(), i);
        }
        assertTrue(i.freed);
        assertFalse(alloc.inodeInUse(ino));
        assertEquals(freeBefore + 1, alloc.freeInodes());
        checkpointAndReload();
        CorruptMetadataException e = assertThrows(CorruptMetadataException.class, () -> table.get(ino));
        assertTrue(e.getMessage().contains("free inode"), e.getMessage());
        assertThrows(CorruptMetadataException.class, () -> table.get(g.inodeCount()));
        assertThrows(CorruptMetadataException.class, () -> table.get(0));
    }
}
