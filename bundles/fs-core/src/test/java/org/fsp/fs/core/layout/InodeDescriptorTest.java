package org.fsp.fs.core.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.fsp.api.fs.FileMode;
import org.junit.jupiter.api.Test;

class InodeDescriptorTest {

    @Test
    void anEmptyDirectoryHasTwoLinksItsTimesItsParentAndNothingElse() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment block = arena.allocate(Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
            block.fill((byte) 0x5a); // what an inode block may hold where the inode is reused
            int base = 3 * InodeDescriptor.INODE_SIZE;
            InodeDescriptor.writeEmptyDirectory(block, base, 0700, 123_456_789L, 1);
            assertEquals(FileMode.S_IFDIR | 0700, block.get(Layout.INT, base + InodeDescriptor.MODE_OFFSET));
            assertEquals(2, block.get(Layout.INT, base + InodeDescriptor.NLINK_OFFSET));
            assertEquals(123_456_789L, block.get(Layout.LONG, base + InodeDescriptor.ATIME_OFFSET));
            assertEquals(123_456_789L, block.get(Layout.LONG, base + InodeDescriptor.MTIME_OFFSET));
            assertEquals(123_456_789L, block.get(Layout.LONG, base + InodeDescriptor.CTIME_OFFSET));
            assertEquals(1L, block.get(Layout.LONG, base + InodeDescriptor.PARENT_OFFSET));
            assertEquals(0L, block.get(Layout.LONG, base + InodeDescriptor.SIZE_OFFSET));
            assertEquals(0, block.get(Layout.INT, base + InodeDescriptor.EXTENT_COUNT_OFFSET));
            assertEquals(0L, block.get(Layout.LONG, base + InodeDescriptor.XATTR_BLOCK_OFFSET));
            assertTrue(InodeDescriptor.valid(block, base));
            assertFalse(InodeDescriptor.isZero(block, base));
            assertEquals((byte) 0x5a, block.get(Layout.BYTE, base - 1), "the inode before is untouched");
            assertEquals((byte) 0x5a, block.get(Layout.BYTE, base + InodeDescriptor.INODE_SIZE), "and the one after");
        }
    }
}
