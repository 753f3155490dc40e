package org.fsp.api.fs;

/**
 * The answer to statfs.
 *
 * @param blockSize bytes per block
 * @param totalBlocks blocks for data and metadata
 * @param freeBlocks blocks free
 * @param totalInodes inodes in the inode table
 * @param freeInodes inodes free
 * @param nameMax longest file name, in bytes (255)
 */
public record FsStats(
        int blockSize, long totalBlocks, long freeBlocks, long totalInodes, long freeInodes, int nameMax) {}
