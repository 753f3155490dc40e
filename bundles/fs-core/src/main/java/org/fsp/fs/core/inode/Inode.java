package org.fsp.fs.core.inode;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.fsp.api.fs.FileAttributes;
import org.fsp.api.fs.FileMode;
import org.fsp.fs.core.dir.Directory;
import org.fsp.fs.core.layout.Layout;

/**
 * An inode in memory: the attributes of the on-disk inode, its extent map, and the state the file system keeps
 * while it is in use (lock, open count, dirty data blocks, directory index).
 *
 * <p>Attributes are volatile so that stat reads them without the lock (a cached stat costs a few loads); they change
 * only under {@link #lock}, which also guards the extent map and the directory's contents. Lock order: a directory
 * before its children; among unrelated inodes, ascending inode number; cross-directory renames first take the file
 * system's rename lock.
 */
public final class Inode {

    public final long ino;
    public final ReentrantLock lock = new ReentrantLock();

    public volatile int mode;
    public volatile int nlink;
    public volatile int uid;
    public volatile int gid;
    public volatile long size;
    public volatile long blocks;
    public volatile long atime;
    public volatile long mtime;
    public volatile long ctime;
    public volatile int generation;
    /** Directories: inode of the parent (".."). */
    public volatile long parent;
    /** The block holding the extended attributes, 0 if none; changes under {@link #lock}. */
    public volatile long xattrBlock;
    /** A device node's device number, else 0. */
    public volatile int rdev;

    /** Guarded by {@link #lock}. */
    public final ExtentMap extents = new ExtentMap();
    /** Extent overflow blocks, in chain order; guarded by {@link #lock}. */
    public long[] chain = new long[0];

    /** Newest transaction that changed anything of this inode. */
    public volatile long metaSeq;
    /** Newest transaction that changed what reading the data back needs (size, extents). */
    public volatile long dataSeq;
    /** Data blocks written into the cache and not yet known to be on the device. */
    public final Set<Long> dirtyData = ConcurrentHashMap.newKeySet();

    /** Open handles; guarded by {@link #lock}. */
    public int openCount;
    /** Set once the inode has been freed; guarded by {@link #lock}. */
    public boolean freed;
    /** Loaded on first use; guarded by {@link #lock} for changes. */
    public volatile Directory dir;

    public Inode(long ino) {
        this.ino = ino;
    }

    public boolean isDirectory() {
        return FileMode.isDirectory(mode);
    }

    public boolean isRegular() {
        return FileMode.isRegular(mode);
    }

    public boolean isSymlink() {
        return FileMode.isSymlink(mode);
    }

    /** A FIFO, socket or device node: fs-core keeps its name and attributes; its I/O is the kernel's. */
    public boolean isSpecial() {
        return FileMode.isSpecial(mode);
    }

    /** A stat snapshot. */
    public FileAttributes attributes() {
        return new FileAttributes(
                ino,
                mode,
                nlink,
                uid,
                gid,
                size,
                blocks * (Layout.BLOCK_SIZE / 512),
                Layout.BLOCK_SIZE,
                atime,
                mtime,
                ctime,
                rdev);
    }
}
