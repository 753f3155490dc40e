package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;
import org.fsp.api.fs.FileMode;

/**
 * One 256-byte inode in the inode table (16 per block; inode {@code n} lives in block
 * {@code inodeTableStart + n / 16} at byte {@code (n % 16) * 256}).
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                    Mode (type + permissions)                  |  0
 * |                    Link count                                 |  4
 * |                    Uid                                        |  8
 * |                    Gid                                        | 12
 * |                    Size (bytes, 64 bits)                      | 16
 * |                    Blocks allocated (fs blocks, 64 bits)      | 24
 * |                    atime, mtime, ctime (ns, 64 bits each)     | 32
 * |                    Generation                                 | 56
 * |                    Extent count                               | 60
 * |                    First extent block (chain, 0 = none)       | 64
 * |                    Parent directory inode (dirs only)         | 72
 * |        Inline extents: 10 x (logical u32, length u32,         | 80
 * |                                 physical u64)                 |
 * |     Extended attribute block (64 bits, 0 = none; minor 2)     | 240
 * |     Device number (rdev, device nodes only, else 0)           | 248
 * |                    CRC32C of bytes 0..251                     | 252
 * +---------------------------------------------------------------+
 * </pre>
 * A free inode is all zeros (mode 0, checksum 0). Files map logical blocks to physical runs through extents sorted
 * by logical block; the first 10 live inline, the rest in a chain of {@link ExtentBlockDescriptor} blocks. A symlink
 * keeps its target in its data blocks like a file; a FIFO, socket or device node has no blocks, size 0, and a
 * device node its device number (Linux's {@code new_encode_dev} encoding). Extended attributes live in one {@link XattrBlockDescriptor} block
 * of the inode's own, counted in its blocks as ext4 counts its xattr block; images before superblock minor version 2
 * have zeros there (no attributes).
 */
public final class InodeDescriptor {

    public static final int INODE_SIZE = 256;
    public static final int INODES_PER_BLOCK = Layout.BLOCK_SIZE / INODE_SIZE;
    public static final int INLINE_EXTENTS = 10;
    /** Bytes per extent record, inline or in an extent block. */
    public static final int EXTENT_SIZE = 16;

    public static final int MODE_OFFSET;
    public static final int NLINK_OFFSET;
    public static final int UID_OFFSET;
    public static final int GID_OFFSET;
    /** bytes. */
    public static final int SIZE_OFFSET;
    /** file-system blocks allocated, data and extent blocks. */
    public static final int BLOCKS_OFFSET;
    /** ns since the epoch. */
    public static final int ATIME_OFFSET;

    public static final int MTIME_OFFSET;
    public static final int CTIME_OFFSET;
    public static final int GENERATION_OFFSET;
    public static final int EXTENT_COUNT_OFFSET;
    public static final int EXTENT_CHAIN_OFFSET;
    public static final int PARENT_OFFSET;
    public static final int EXTENTS_OFFSET;
    /** block number of the inode's extended attribute block, 0 if it has none. */
    public static final int XATTR_BLOCK_OFFSET;
    /** a device node's device number; 0 in every other inode (the reserved word of images before special files). */
    public static final int RDEV_OFFSET;

    public static final int CHECKSUM_OFFSET = INODE_SIZE - 4;

    static {
        int offset = 0;
        MODE_OFFSET = offset;
        offset += 4;
        NLINK_OFFSET = offset;
        offset += 4;
        UID_OFFSET = offset;
        offset += 4;
        GID_OFFSET = offset;
        offset += 4;
        SIZE_OFFSET = offset;
        offset += 8;
        BLOCKS_OFFSET = offset;
        offset += 8;
        ATIME_OFFSET = offset;
        offset += 8;
        MTIME_OFFSET = offset;
        offset += 8;
        CTIME_OFFSET = offset;
        offset += 8;
        GENERATION_OFFSET = offset;
        offset += 4;
        EXTENT_COUNT_OFFSET = offset;
        offset += 4;
        EXTENT_CHAIN_OFFSET = offset;
        offset += 8;
        PARENT_OFFSET = offset;
        offset += 8;
        EXTENTS_OFFSET = offset;
        offset += INLINE_EXTENTS * EXTENT_SIZE;
        XATTR_BLOCK_OFFSET = offset;
        offset += 8;
        RDEV_OFFSET = offset;
        offset += 4;
        if (offset > CHECKSUM_OFFSET) {
            throw new ExceptionInInitializerError("inode fields overflow the inode");
        }
    }

    private InodeDescriptor() {}

    /** Seals the inode at {@code base} in {@code block} with its checksum. */
    public static void seal(MemorySegment block, int base) {
        block.set(Layout.INT, base + CHECKSUM_OFFSET, Checksums.crc32c(block, base, CHECKSUM_OFFSET));
    }

    /**
     * Writes a new, empty directory at {@code base} in {@code block}: all zeros but the mode (a directory with
     * {@code permissions}), two links, {@code nowNanos} as its three times and {@code parent}, then the checksum. mkfs
     * writes the root this way and {@code fsck --repair} {@code /lost+found}; the directory's entries are the caller's.
     */
    public static void writeEmptyDirectory(MemorySegment block, int base, int permissions, long nowNanos, long parent) {
        block.asSlice(base, INODE_SIZE).fill((byte) 0);
        block.set(Layout.INT, base + MODE_OFFSET, FileMode.S_IFDIR | permissions);
        block.set(Layout.INT, base + NLINK_OFFSET, 2);
        block.set(Layout.LONG, base + ATIME_OFFSET, nowNanos);
        block.set(Layout.LONG, base + MTIME_OFFSET, nowNanos);
        block.set(Layout.LONG, base + CTIME_OFFSET, nowNanos);
        block.set(Layout.LONG, base + PARENT_OFFSET, parent);
        seal(block, base);
    }

    /** True if the inode at {@code base} is all zeros (free). */
    public static boolean isZero(MemorySegment block, int base) {
        for (int i = 0; i < INODE_SIZE; i += 8) {
            if (block.get(Layout.LONG, base + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** True if the inode at {@code base} is free (all zeros) or carries a matching checksum. */
    public static boolean valid(MemorySegment block, int base) {
        return isZero(block, base)
                || block.get(Layout.INT, base + CHECKSUM_OFFSET) == Checksums.crc32c(block, base, CHECKSUM_OFFSET);
    }
}
