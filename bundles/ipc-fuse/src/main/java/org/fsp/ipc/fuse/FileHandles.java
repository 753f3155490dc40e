package org.fsp.ipc.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords;

/**
 * The file handles ({@code fh}) this mount gives the kernel, and the fs-core handle behind each. An fh says what it
 * opened, so that a process that took the mount over from one that died ({@code fspd --supervise}) can open the same
 * file again by inode the first time the kernel uses a handle it never gave out, with no table from the dead one:
 *
 * <pre>
 * 63-32 inode number          31-24 low 8 bits of the inode's generation
 * 23-22 access mode           21 O_APPEND    20 O_SYNC    19 directory
 * 18-12 epoch of the process that opened it (0-127)    11-0 a number that makes it unique
 * </pre>
 *
 * The epoch changes with each process that serves the mount, so a new handle never equals one the kernel got from
 * the dead process (until 128 take-overs later), and the number is chosen free among the handles this process knows.
 * A re-open checks the generation (a number freed and reused meanwhile is another file: EIO) and asks no permission
 * again: the kernel's open was allowed when it was made. A directory's handle is not re-opened (READDIR works by path
 * here, RELEASEDIR of an unknown one is a no-op). Thread-safe.
 */
final class FileHandles {

    /** Epochs before a number comes round again. */
    static final int EPOCHS = 128;

    private static final int NUMBERS = 1 << 12;
    private static final long INO_LIMIT = 1L << 32;

    private final int epoch;
    private final Map<Long, Long> live = new ConcurrentHashMap<>();
    /** Guarded by this. */
    private int next;

    FileHandles(int epoch) {
        this.epoch = Math.floorMod(epoch, EPOCHS);
    }

    int epoch() {
        return epoch;
    }

    /**
     * A new fh for fs-core's {@code handle}, opened on inode {@code ino} of {@code generation} with {@code flags} (those
     * fs-core was given). EMFILE if 4096 handles of this process already share everything but the number.
     */
    synchronized long add(long ino, int generation, int flags, boolean directory, long handle) throws FsException {
        long base = describe(ino, generation, flags, directory) | ((long) epoch << 12);
        for (int i = 0; i < NUMBERS; i++) {
            long fh = base | ((next + i) & (NUMBERS - 1));
            if (!live.containsKey(fh)) {
                next = (next + i + 1) & (NUMBERS - 1);
                live.put(fh, handle);
                return fh;
            }
        }
        throw new FsException(Errno.EMFILE, "4096 open handles of inode " + ino + " with the same flags");
    }

    /** The bits above the epoch: what the handle opened. */
    static long describe(long ino, int generation, int flags, boolean directory) {
        long bits = ino > 0 && ino < INO_LIMIT ? ino << 32 : 0; // 0: not re-openable
        bits |= (long) (generation & 0xff) << 24;
        bits |= (long) (flags & OpenFlags.O_ACCMODE) << 22;
        bits |= (flags & OpenFlags.O_APPEND) != 0 ? 1L << 21 : 0;
        bits |= (flags & OpenFlags.O_SYNC) == OpenFlags.O_SYNC ? 1L << 20 : 0;
        bits |= directory ? 1L << 19 : 0;
        return bits;
    }

    static long ino(long fh) {
        return fh >>> 32;
    }

    static int epoch(long fh) {
        return (int) (fh >>> 12) & (EPOCHS - 1);
    }

    static boolean directory(long fh) {
        return (fh & (1L << 19)) != 0;
    }

    /** The open flags a re-open of {@code fh} uses. */
    static int flags(long fh) {
        int flags = (int) (fh >>> 22) & OpenFlags.O_ACCMODE;
        if ((fh & (1L << 21)) != 0) {
            flags |= OpenFlags.O_APPEND;
        }
        if ((fh & (1L << 20)) != 0) {
            flags |= OpenFlags.O_SYNC;
        }
        return flags;
    }

    /**
     * fs-core's handle behind {@code fh}; for an fh this process never gave out, the file opened again by inode (and
     * kept for the next call). EBADF for a directory's, one that names no inode or one of this process's epoch that is
     * no longer open, EIO for a file that is gone (its
     * number free or reused) or a file system that cannot open by inode.
     */
    long handle(FileSystemService fs, long fh) throws FsException {
        Long h = live.get(fh);
        if (h != null) {
            return h;
        }
        synchronized (this) {
            h = live.get(fh);
            if (h != null) {
                return h;
            }
            long ino = ino(fh);
            if (ino == 0 || directory(fh) || epoch(fh) == epoch) {
                // This process's own epoch: an fh it gave out and the kernel released (the kernel never uses one).
                throw new FsException(Errno.EBADF, "file handle " + Long.toHexString(fh));
            }
            if (!(fs instanceof SessionRecords records)) {
                throw new FsException(Errno.EIO, "this file system cannot open inode " + ino + " again");
            }
            long opened;
            try {
                int generation = records.generation(ino);
                if ((generation & 0xff) != (int) (fh >>> 24 & 0xff)) {
                    throw new FsException(Errno.ESTALE, "inode " + ino + " was freed and reused");
                }
                opened = records.reopenRecorded(
                        Credentials.ROOT, new SessionRecords.Outcome(0, ino, generation, flags(fh)));
            } catch (FsException e) {
                if (e.errno() == Errno.ESTALE) {
                    // The file the handle was opened on is gone: its data is lost for the caller, as write-back is.
                    throw new FsException(Errno.EIO, "file handle " + Long.toHexString(fh) + ": " + e.getMessage());
                }
                throw e;
            }
            live.put(fh, opened);
            return opened;
        }
    }

    /** fs-core's handle behind {@code fh}, or -1 if this process has none. */
    long known(long fh) {
        Long h = live.get(fh);
        return h == null ? -1 : h;
    }

    /** Forgets {@code fh} (RELEASE); returns fs-core's handle to close, or -1 if it had none here. */
    long remove(long fh) {
        Long h = live.remove(fh);
        return h == null ? -1 : h;
    }

    /** Every fs-core handle this process holds for the kernel. */
    List<Long> all() {
        return new ArrayList<>(live.values());
    }

    /** Every fh with its fs-core handle, for the next version of this front end (a live upgrade). */
    Map<Long, Long> export() {
        return Map.copyOf(live);
    }

    /** The handles a previous version exported, in its epoch (the fs-core handles stay open across the upgrade). */
    static FileHandles restore(int epoch, Map<Long, Long> handles) {
        FileHandles t = new FileHandles(epoch);
        t.live.putAll(handles);
        return t;
    }
}
