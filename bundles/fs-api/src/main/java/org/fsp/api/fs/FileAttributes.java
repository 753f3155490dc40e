package org.fsp.api.fs;

/**
 * The answer to stat: what struct stat holds, with times in nanoseconds since the epoch.
 *
 * @param ino inode number
 * @param mode type and permission bits ({@link FileMode})
 * @param nlink hard links
 * @param uid owner
 * @param gid group
 * @param size bytes (for a symlink, the target's length)
 * @param blocks 512-byte units allocated, as st_blocks
 * @param blockSize preferred I/O size in bytes, as st_blksize
 * @param atimeNanos last access
 * @param mtimeNanos last data modification
 * @param ctimeNanos last status change
 * @param rdev device number of a device node (Linux's {@code new_encode_dev} encoding), else 0
 */
public record FileAttributes(
        long ino,
        int mode,
        int nlink,
        int uid,
        int gid,
        long size,
        long blocks,
        int blockSize,
        long atimeNanos,
        long mtimeNanos,
        long ctimeNanos,
        int rdev) {

    /** The attributes of anything but a device node. */
    public FileAttributes(
            long ino,
            int mode,
            int nlink,
            int uid,
            int gid,
            long size,
            long blocks,
            int blockSize,
            long atimeNanos,
            long mtimeNanos,
            long ctimeNanos) {
        this(ino, mode, nlink, uid, gid, size, blocks, blockSize, atimeNanos, mtimeNanos, ctimeNanos, 0);
    }

    public boolean isDirectory() {
        return FileMode.isDirectory(mode);
    }

    public boolean isRegularFile() {
        return FileMode.isRegular(mode);
    }

    public boolean isSymbolicLink() {
        return FileMode.isSymlink(mode);
    }
}
