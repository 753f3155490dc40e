package org.fsp.fs.core.layout;

import java.lang.foreign.MemorySegment;

/**
 * The superblock: block 0 of the device, describing the geometry and the journal's state.
 *
 * <p>The device is laid out as consecutive regions, each a whole number of 4096-byte blocks:
 * <pre>
 * +------------+-----------------+--------------+--------------+---------------+-----------------------+
 * | superblock | journal         | inode bitmap | block bitmap | inode table   | data blocks           |
 * | block 0    | journalBlocks   | ibmBlocks    | bbmBlocks    | itBlocks      | up to totalBlocks     |
 * +------------+-----------------+--------------+--------------+---------------+-----------------------+
 * </pre>
 *
 * <p>Fields (little-endian):
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +---------------------------------------------------------------+
 * |                         Magic (64 bits)                       |
 * +-------------------------------+-------------------------------+
 * |         Version major         |         Version minor         |
 * +-------------------------------+-------------------------------+
 * |                     Block size (bytes)                        |
 * +---------------------------------------------------------------+
 * |  totalBlocks, inodeCount, journalStart, journalBlocks,        |
 * |  inodeBitmapStart, inodeBitmapBlocks, blockBitmapStart,       |
 * |  blockBitmapBlocks, inodeTableStart, inodeTableBlocks,        |
 * |  dataStart, rootIno, journalSeq (64 bits each)                |
 * +---------------------------------------------------------------+
 * |                Clean flag (1 = cleanly unmounted)             |
 * +---------------------------------------------------------------+
 * |     mkfsTimeNanos, mountCount (64 bits each)                  |
 * +---------------------------------------------------------------+
 * |     reservedBlocks (64 bits; minor version 1, 0 before)       |
 * +---------------------------------------------------------------+
 * |  sessionTableStart, sessionTableBlocks (64 bits each; minor   |
 * |  version 3, 0 before: no session table)                       |
 * +---------------------------------------------------------------+
 * |                    ... zero up to byte 4092 ...               |
 * +---------------------------------------------------------------+
 * |             CRC32C of bytes 0..4091 (offset 4092)             |
 * +---------------------------------------------------------------+
 * </pre>
 * {@code journalSeq} is the sequence number the transaction at the first journal block must carry for recovery to
 * replay it; a checkpoint advances it and so empties the journal in one block write.
 */
public final class SuperblockDescriptor {

    /** "FSPDASH\1" read as a little-endian long. */
    public static final long MAGIC = 0x0148534144505346L;
    /** A reader refuses an image whose major version differs. */
    public static final int VERSION_MAJOR = 1;

    /**
     * 1: the root reserve ({@link #RESERVED_BLOCKS_OFFSET}). 2: inodes may point at an extended attribute block
     * ({@link InodeDescriptor#XATTR_BLOCK_OFFSET}); older images have zeros there, so they read unchanged. 3: the
     * session table ({@link SessionTableDescriptor}).
     */
    public static final int VERSION_MINOR = 3;

    public static final int MAGIC_OFFSET;
    public static final int VERSION_MAJOR_OFFSET;
    public static final int VERSION_MINOR_OFFSET;
    /** bytes, always {@link Layout#BLOCK_SIZE}. */
    public static final int BLOCK_SIZE_OFFSET;
    /** blocks on the device used by the file system. */
    public static final int TOTAL_BLOCKS_OFFSET;
    /** inodes in the inode table, including the reserved inode 0. */
    public static final int INODE_COUNT_OFFSET;

    public static final int JOURNAL_START_OFFSET;
    public static final int JOURNAL_BLOCKS_OFFSET;
    public static final int INODE_BITMAP_START_OFFSET;
    public static final int INODE_BITMAP_BLOCKS_OFFSET;
    public static final int BLOCK_BITMAP_START_OFFSET;
    public static final int BLOCK_BITMAP_BLOCKS_OFFSET;
    public static final int INODE_TABLE_START_OFFSET;
    public static final int INODE_TABLE_BLOCKS_OFFSET;
    public static final int DATA_START_OFFSET;
    public static final int ROOT_INO_OFFSET;
    /** sequence number of the first transaction the journal holds (at journalStart). */
    public static final int JOURNAL_SEQ_OFFSET;
    /** 1 after a clean unmount, 0 while mounted. */
    public static final int CLEAN_OFFSET;
    /** ns since the epoch. */
    public static final int MKFS_TIME_OFFSET;

    public static final int MOUNT_COUNT_OFFSET;
    /**
     * Data blocks only root may allocate, as ext4's reserved blocks (s_r_blocks_count): an ordinary user cannot fill
     * the device for root. Zero in images of minor version 0, which read as "no reserve".
     */
    public static final int RESERVED_BLOCKS_OFFSET;
    /** First block of the session table, in the data region; 0 when the image has none (minor version below 3). */
    public static final int SESSION_TABLE_START_OFFSET;

    public static final int SESSION_TABLE_BLOCKS_OFFSET;
    /** CRC32C of everything before it. */
    public static final int CHECKSUM_OFFSET = Layout.BLOCK_SIZE - 4;

    static {
        int offset = 0;
        MAGIC_OFFSET = offset;
        offset += 8;
        VERSION_MAJOR_OFFSET = offset;
        offset += 2;
        VERSION_MINOR_OFFSET = offset;
        offset += 2;
        BLOCK_SIZE_OFFSET = offset;
        offset += 4;
        TOTAL_BLOCKS_OFFSET = offset;
        offset += 8;
        INODE_COUNT_OFFSET = offset;
        offset += 8;
        JOURNAL_START_OFFSET = offset;
        offset += 8;
        JOURNAL_BLOCKS_OFFSET = offset;
        offset += 8;
        INODE_BITMAP_START_OFFSET = offset;
        offset += 8;
        INODE_BITMAP_BLOCKS_OFFSET = offset;
        offset += 8;
        BLOCK_BITMAP_START_OFFSET = offset;
        offset += 8;
        BLOCK_BITMAP_BLOCKS_OFFSET = offset;
        offset += 8;
        INODE_TABLE_START_OFFSET = offset;
        offset += 8;
        INODE_TABLE_BLOCKS_OFFSET = offset;
        offset += 8;
        DATA_START_OFFSET = offset;
        offset += 8;
        ROOT_INO_OFFSET = offset;
        offset += 8;
        JOURNAL_SEQ_OFFSET = offset;
        offset += 8;
        CLEAN_OFFSET = offset;
        offset += 4;
        offset += 4; // padding to 8
        MKFS_TIME_OFFSET = offset;
        offset += 8;
        MOUNT_COUNT_OFFSET = offset;
        offset += 8;
        RESERVED_BLOCKS_OFFSET = offset;
        offset += 8;
        SESSION_TABLE_START_OFFSET = offset;
        offset += 8;
        SESSION_TABLE_BLOCKS_OFFSET = offset;
    }

    private SuperblockDescriptor() {}

    /** Writes the geometry, journal sequence and clean flag into a zeroed block and seals it with its checksum. */
    public static void write(
            MemorySegment block,
            Geometry g,
            long journalSeq,
            boolean clean,
            long mkfsTime,
            long mountCount,
            long reservedBlocks) {
        write(block, g, journalSeq, clean, mkfsTime, mountCount, reservedBlocks, 0, 0);
    }

    /** {@link #write(MemorySegment, Geometry, long, boolean, long, long, long)} with a session table. */
    public static void write(
            MemorySegment block,
            Geometry g,
            long journalSeq,
            boolean clean,
            long mkfsTime,
            long mountCount,
            long reservedBlocks,
            long sessionTableStart,
            long sessionTableBlocks) {
        block.fill((byte) 0);
        block.set(Layout.LONG, MAGIC_OFFSET, MAGIC);
        block.set(Layout.SHORT, VERSION_MAJOR_OFFSET, (short) VERSION_MAJOR);
        block.set(Layout.SHORT, VERSION_MINOR_OFFSET, (short) VERSION_MINOR);
        block.set(Layout.INT, BLOCK_SIZE_OFFSET, Layout.BLOCK_SIZE);
        block.set(Layout.LONG, TOTAL_BLOCKS_OFFSET, g.totalBlocks());
        block.set(Layout.LONG, INODE_COUNT_OFFSET, g.inodeCount());
        block.set(Layout.LONG, JOURNAL_START_OFFSET, g.journalStart());
        block.set(Layout.LONG, JOURNAL_BLOCKS_OFFSET, g.journalBlocks());
        block.set(Layout.LONG, INODE_BITMAP_START_OFFSET, g.inodeBitmapStart());
        block.set(Layout.LONG, INODE_BITMAP_BLOCKS_OFFSET, g.inodeBitmapBlocks());
        block.set(Layout.LONG, BLOCK_BITMAP_START_OFFSET, g.blockBitmapStart());
        block.set(Layout.LONG, BLOCK_BITMAP_BLOCKS_OFFSET, g.blockBitmapBlocks());
        block.set(Layout.LONG, INODE_TABLE_START_OFFSET, g.inodeTableStart());
        block.set(Layout.LONG, INODE_TABLE_BLOCKS_OFFSET, g.inodeTableBlocks());
        block.set(Layout.LONG, DATA_START_OFFSET, g.dataStart());
        block.set(Layout.LONG, ROOT_INO_OFFSET, Geometry.ROOT_INO);
        block.set(Layout.LONG, JOURNAL_SEQ_OFFSET, journalSeq);
        block.set(Layout.INT, CLEAN_OFFSET, clean ? 1 : 0);
        block.set(Layout.LONG, MKFS_TIME_OFFSET, mkfsTime);
        block.set(Layout.LONG, MOUNT_COUNT_OFFSET, mountCount);
        block.set(Layout.LONG, RESERVED_BLOCKS_OFFSET, reservedBlocks);
        block.set(Layout.LONG, SESSION_TABLE_START_OFFSET, sessionTableStart);
        block.set(Layout.LONG, SESSION_TABLE_BLOCKS_OFFSET, sessionTableBlocks);
        Checksums.sealTail(block);
    }

    /** True if every byte of the block is zero: a device that was never formatted. */
    public static boolean isBlank(MemorySegment block) {
        for (long i = 0; i < block.byteSize(); i += 8) {
            if (block.get(Layout.LONG, i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks magic, version, checksum and geometry against a device of {@code deviceBlocks} blocks.
     *
     * @return null if the superblock is sound, else a sentence saying what is wrong
     */
    public static String validate(MemorySegment block, long deviceBlocks) {
        long magic = block.get(Layout.LONG, MAGIC_OFFSET);
        if (magic != MAGIC) {
            return String.format("superblock magic is 0x%016x, expected 0x%016x: not an FSP file system", magic, MAGIC);
        }
        if (!Checksums.tailValid(block)) {
            return "superblock checksum mismatch: the superblock is corrupt";
        }
        int major = Short.toUnsignedInt(block.get(Layout.SHORT, VERSION_MAJOR_OFFSET));
        if (major != VERSION_MAJOR) {
            return "superblock version " + major + " is not supported (this build reads version " + VERSION_MAJOR + ")";
        }
        int bs = block.get(Layout.INT, BLOCK_SIZE_OFFSET);
        if (bs != Layout.BLOCK_SIZE) {
            return "superblock block size " + bs + " is not supported (expected " + Layout.BLOCK_SIZE + ")";
        }
        Geometry g = read(block);
        if (g.totalBlocks() > deviceBlocks) {
            return "superblock says " + g.totalBlocks() + " blocks but the device has only " + deviceBlocks;
        }
        Geometry expected = Geometry.compute(g.totalBlocks(), g.inodeCount(), g.journalBlocks());
        if (!expected.equals(g)) {
            return "superblock geometry is inconsistent: " + g + " (expected " + expected + ")";
        }
        long reserved = reservedBlocks(block);
        if (reserved < 0 || reserved > g.totalBlocks() - g.dataStart()) {
            return "superblock reserves " + reserved + " blocks of " + (g.totalBlocks() - g.dataStart())
                    + " data blocks";
        }
        long sessionStart = sessionTableStart(block);
        long sessionBlocks = sessionTableBlocks(block);
        if (sessionBlocks != 0
                && (sessionBlocks < 2
                        || sessionStart < g.dataStart()
                        || sessionStart + sessionBlocks > g.totalBlocks())) {
            return "superblock places the session table at " + sessionStart + "+" + sessionBlocks
                    + ", outside the data region";
        }
        return null;
    }

    /** The geometry the superblock records. */
    public static Geometry read(MemorySegment block) {
        return new Geometry(
                block.get(Layout.LONG, TOTAL_BLOCKS_OFFSET),
                block.get(Layout.LONG, INODE_COUNT_OFFSET),
                block.get(Layout.LONG, JOURNAL_START_OFFSET),
                block.get(Layout.LONG, JOURNAL_BLOCKS_OFFSET),
                block.get(Layout.LONG, INODE_BITMAP_START_OFFSET),
                block.get(Layout.LONG, INODE_BITMAP_BLOCKS_OFFSET),
                block.get(Layout.LONG, BLOCK_BITMAP_START_OFFSET),
                block.get(Layout.LONG, BLOCK_BITMAP_BLOCKS_OFFSET),
                block.get(Layout.LONG, INODE_TABLE_START_OFFSET),
                block.get(Layout.LONG, INODE_TABLE_BLOCKS_OFFSET),
                block.get(Layout.LONG, DATA_START_OFFSET));
    }

    public static long journalSeq(MemorySegment block) {
        return block.get(Layout.LONG, JOURNAL_SEQ_OFFSET);
    }

    public static boolean clean(MemorySegment block) {
        return block.get(Layout.INT, CLEAN_OFFSET) == 1;
    }

    public static long mkfsTime(MemorySegment block) {
        return block.get(Layout.LONG, MKFS_TIME_OFFSET);
    }

    public static long mountCount(MemorySegment block) {
        return block.get(Layout.LONG, MOUNT_COUNT_OFFSET);
    }

    public static long reservedBlocks(MemorySegment block) {
        return block.get(Layout.LONG, RESERVED_BLOCKS_OFFSET);
    }

    /** 0 in an image without a session table. */
    public static long sessionTableStart(MemorySegment block) {
        int minor = Short.toUnsignedInt(block.get(Layout.SHORT, VERSION_MINOR_OFFSET));
        return minor >= 3 ? block.get(Layout.LONG, SESSION_TABLE_START_OFFSET) : 0;
    }

    /** 0 in an image without a session table. */
    public static long sessionTableBlocks(MemorySegment block) {
        int minor = Short.toUnsignedInt(block.get(Layout.SHORT, VERSION_MINOR_OFFSET));
        return minor >= 3 ? block.get(Layout.LONG, SESSION_TABLE_BLOCKS_OFFSET) : 0;
    }
}
