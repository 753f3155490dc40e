package org.fsp.fs.core.layout;

import org.fsp.api.launch.FrameworkProperties;

/**
 * Where each region of the device starts and how long it is, in blocks; see {@link SuperblockDescriptor} for the
 * picture. Computed once by mkfs from the device size and recorded in the superblock.
 *
 * @param totalBlocks blocks used by the file system
 * @param inodeCount inodes, a multiple of {@link InodeDescriptor#INODES_PER_BLOCK}; inode 0 is reserved
 * @param journalStart first journal block
 * @param journalBlocks journal length in blocks
 * @param inodeBitmapStart first inode bitmap block
 * @param inodeBitmapBlocks inode bitmap length
 * @param blockBitmapStart first block bitmap block
 * @param blockBitmapBlocks block bitmap length
 * @param inodeTableStart first inode table block
 * @param inodeTableBlocks inode table length
 * @param dataStart first block available for file data, directories and extent blocks
 */
public record Geometry(
        long totalBlocks,
        long inodeCount,
        long journalStart,
        long journalBlocks,
        long inodeBitmapStart,
        long inodeBitmapBlocks,
        long blockBitmapStart,
        long blockBitmapBlocks,
        long inodeTableStart,
        long inodeTableBlocks,
        long dataStart) {

    /** The root directory's inode number. */
    public static final long ROOT_INO = 1;
    /** Smallest device mkfs formats, in blocks: the one minimum FSP has, {@link FrameworkProperties#MIN_DEVICE_BYTES}. */
    public static final long MIN_BLOCKS = FrameworkProperties.MIN_DEVICE_BYTES / Layout.BLOCK_SIZE;

    /** Lays out a device of {@code totalBlocks} with the given inode count and journal length. */
    public static Geometry compute(long totalBlocks, long inodeCount, long journalBlocks) {
        long ipb = InodeDescriptor.INODES_PER_BLOCK;
        long inodes = Math.max(ipb, (inodeCount + ipb - 1) / ipb * ipb);
        long journalStart = 1;
        long ibmStart = journalStart + journalBlocks;
        long ibmBlocks = ceilDiv(inodes, BitmapDescriptor.BITS_PER_BLOCK);
        long bbmStart = ibmStart + ibmBlocks;
        long bbmBlocks = ceilDiv(totalBlocks, BitmapDescriptor.BITS_PER_BLOCK);
        long itStart = bbmStart + bbmBlocks;
        long itBlocks = inodes / ipb;
        long dataStart = itStart + itBlocks;
        return new Geometry(
                totalBlocks,
                inodes,
                journalStart,
                journalBlocks,
                ibmStart,
                ibmBlocks,
                bbmStart,
                bbmBlocks,
                itStart,
                itBlocks,
                dataStart);
    }

    /** The default geometry for a device: one inode per 16 KiB, a journal of 1/64 of the device (64..8192 blocks). */
    public static Geometry defaults(long totalBlocks, long journalBlocksOrZero) {
        long journal = journalBlocksOrZero > 0 ? journalBlocksOrZero : Math.max(64, Math.min(8192, totalBlocks / 64));
        long inodes = Math.max(64, totalBlocks / 4);
        return compute(totalBlocks, inodes, journal);
    }

    /** Blocks available for data after the metadata regions. */
    public long dataBlocks() {
        return totalBlocks - dataStart;
    }

    /** The inode table block holding {@code ino}. */
    public long inodeBlock(long ino) {
        return inodeTableStart + ino / InodeDescriptor.INODES_PER_BLOCK;
    }

    /** Byte offset of {@code ino} within its inode table block. */
    public int inodeOffset(long ino) {
        return (int) (ino % InodeDescriptor.INODES_PER_BLOCK) * InodeDescriptor.INODE_SIZE;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
