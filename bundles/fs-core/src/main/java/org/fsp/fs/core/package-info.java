/**
 * fs-core, the file system: {@link org.fsp.fs.core.FsCore} implements {@link org.fsp.api.fs.FileSystemService} over
 * a {@link org.fsp.api.block.BlockScheduler}; {@link org.fsp.fs.core.FsCoreComponent} mounts it as a DS component.
 * Nothing here is exported. Later versions of fs-core (bundles/fs-core-provenance) copy these packages into their
 * own bundle and add to them through {@link org.fsp.fs.core.FsCoreExtension} and
 * {@link org.fsp.fs.core.FileObserver}.
 *
 * <h2>Overview of the design</h2>
 * One package per layer, bottom up (xv6 style):
 * <ul>
 *   <li>{@code layout}: the on-disk format, one {@code *Descriptor} per structure (superblock, bitmaps, inodes,
 *       extent blocks, directory blocks, journal records). 4 KiB blocks; every metadata block carries a CRC32C.</li>
 *   <li>{@code cache}: {@code BlockIo} (the only path to the scheduler) and {@code BufferCache} (bounded, CLOCK,
 *       write-back of data, sequential read-ahead).</li>
 *   <li>{@code journal}: a physical redo journal of whole metadata blocks. Operations join the running compound
 *       transaction; fsync commits it (group commit), ordered data reaches the device first, small fsyncs journal
 *       their data instead; checkpoints write images home; recovery replays complete transactions only.</li>
 *   <li>{@code alloc}: inode and block bitmaps, one lock per bitmap block; freed blocks are reused only after the
 *       checkpoint that follows the freeing commit.</li>
 *   <li>{@code inode}: inodes with 64-bit sizes and extent maps (10 extents inline, then a chain of extent
 *       blocks).</li>
 *   <li>{@code dir}: directory blocks of variable-length records with stable positions (readdir cookies) and an
 *       in-memory hash index per directory.</li>
 *   <li>this package: path resolution ({@code PathResolver}), POSIX permission checks ({@code Access}), the
 *       open-file table, the operations and their Linux errnos.</li>
 *   <li>{@code tools}: mkfs ({@code Mkfs}, {@code Formatter}), fsck ({@code Fsck}, {@code Checker}) and the offline
 *       file-backed device and direct scheduler they use.</li>
 * </ul>
 * Locking: journal gate (shared) before inode locks; parent before child; cross-directory renames under one rename
 * lock with the two parents locked ancestor first; no inode lock is held across a commit.
 */
package org.fsp.fs.core;
