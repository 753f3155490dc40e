package org.fsp.api.fs;

/**
 * The answer to statfs.
 *
 * @param blockSize bytes per block
 * @param totalBlocks blocks for data and metadata
 * @param freeBlocks blocks free (f_bfree), including those reserved for root
 * @param totalInodes inodes in the inode table
 * @param freeInodes inodes free
 * @param nameMax longest file name, in bytes (255)
 * @param availableBlocks blocks free for an unprivileged user (f_bavail): {@code freeBlocks} less the root reserve
 */
public record FsStats(
        int blockSize,
        long totalBlocks,
        long freeBlocks,
        long totalInodes,
        long freeInodes,
        int nameMax,
        long availableBlocks) {

    /** Statistics of a file system without a root reserve: every free block is available. */
    public FsStats(int blockSize, long totalBlocks, long freeBlocks, long totalInodes, long freeInodes, int nameMax) {
        this(blockSize, totalBlocks, freeBlocks, totalInodes, freeInodes, nameMax, freeBlocks);
    }
}
