package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FileSystemService;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.sched.ManagedBlocking;
import org.fsp.fs.core.cache.Buffer;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.inode.NoSpaceException;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Layout;

/**
 * The operations on a file's data: read and pread (with read-ahead), write and pwrite (O_APPEND at the end, large
 * writes in transactions of bounded size), truncate and ftruncate, fsync, fdatasync and sync, lseek with SEEK_DATA and
 * SEEK_HOLE, and fallocate; on the mounted file system ({@link FsCore}, which owns the caches, the tables and the
 * journal, and answers for this class behind its {@link org.fsp.api.fs.FileSystemService} facade).
 *
 * <p>A typical write runs inside {@link FsCore#call} and, per chunk, one journal transaction ({@link FsCore#run}):
 * allocate the blocks it needs, copy the data into the buffer cache, mark the blocks dirty for write-back, store the
 * inode. Reads take no lock: attributes are volatile and blocks come through the cache.
 *
 * <p>Its length (about 600 lines): read, write, truncate, fsync and fallocate all map logical blocks through the
 * inode's extents under the inode lock and share the same per-file state (size, {@code dataSeq}, the dirty data blocks,
 * the read-ahead window), so the one rule that keeps a freed block from being read or written (copy under the lock,
 * {@code lockLive} before a change) is checked in one file. Finding data and holes is {@link Holes}'s, permission
 * checks {@link Access}'s, and the caches, the tables and the journal stay {@link FsCore}'s.
 */
final class FileData {

    private final FsCore fs;

    FileData(FsCore fs) {
        this.fs = fs;
    }

    int read(Credentials who, long handle, MemorySegment dst) throws FsException {
        return fs.call(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            synchronized (f) {
                int n = readAt(f, f.position, dst);
                f.position += n;
                return n;
            }
        });
    }

    int pread(Credentials who, long handle, long offset, MemorySegment dst) throws FsException {
        return fs.call(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            if (offset < 0) {
                throw new FsException(Errno.EINVAL, "negative offset");
            }
            return readAt(f, offset, dst);
        });
    }

    private int readAt(FsCore.OpenFile f, long offset, MemorySegment dst) throws FsException {
        if (!OpenFlags.canRead(f.flags)) {
            throw new FsException(Errno.EBADF, "not open for reading");
        }
        Inode i = f.inode;
        if (i.isDirectory()) {
            throw new FsException(Errno.EISDIR, "read of a directory");
        }
        long size = i.size;
        if (offset >= size || dst.byteSize() == 0) {
            return 0;
        }
        long first = offset / Layout.BLOCK_SIZE;
        long last = (offset + Math.min(dst.byteSize(), size - offset) - 1) / Layout.BLOCK_SIZE;
        readAhead(f, i, first, last);
        try {
            // The copy runs under the inode lock: a truncate or a close that frees the blocks cannot run between
            // mapping a block and copying it, so a freed block that another file reuses is never read. Blocks not
            // in the cache are loaded with the lock dropped, then the copy starts again.
            for (int attempt = 0; ; attempt++) {
                long missing;
                i.lock.lock();
                try {
                    if (i.freed) {
                        throw new FsException(Errno.EBADF, "the file was closed");
                    }
                    missing = copyOut(i, offset, dst, attempt >= 2);
                    if (missing < 0) {
                        int done = (int) -(missing + 1);
                        fs.touchAtime(i);
                        return done;
                    }
                } finally {
                    i.lock.unlock();
                }
                fs.cache.release(fs.cache.get(missing, true));
            }
        } catch (FsException e) {
            throw e;
        } catch (IOException e) {
            throw fs.ioError(e);
        }
    }

    /**
     * Under the inode lock: copies the file's bytes from {@code offset} into {@code dst}. Returns {@code -(n + 1)}
     * for {@code n} bytes copied, or the first physical block that is not in the cache (only if {@code load} is
     * false; with it the block is read under the lock).
     */
    private long copyOut(Inode i, long offset, MemorySegment dst, boolean load) throws IOException {
        long size = i.size;
        if (offset >= size) {
            return -1;
        }
        int len = (int) Math.min(Math.min(dst.byteSize(), Integer.MAX_VALUE - Layout.BLOCK_SIZE), size - offset);
        int done = 0;
        while (done < len) {
            long pos = offset + done;
            int inBlock = (int) (pos % Layout.BLOCK_SIZE);
            int n = Math.min(len - done, Layout.BLOCK_SIZE - inBlock);
            long pblk = i.extents.map(pos / Layout.BLOCK_SIZE);
            if (pblk == 0) {
                dst.asSlice(done, n).fill((byte) 0);
            } else {
                Buffer b = load ? fs.cache.get(pblk, true) : fs.cache.getIfLoaded(pblk);
                if (b == null) {
                    return pblk;
                }
                try {
                    MemorySegment.copy(b.data(), inBlock, dst, done, n);
                } finally {
                    fs.cache.release(b);
                }
            }
            done += n;
        }
        return -(done + 1L);
    }

    /**
     * Starts reading ahead of a sequential run of reads (one from the start of the file or following the previous):
     * the window of {@link Options#readAheadBlocks} blocks past the read is topped up once half of it has been
     * consumed, so a run of small reads asks the cache about each block ahead once, not on every read.
     */
    private void readAhead(FsCore.OpenFile f, Inode i, long first, long last) {
        int window = fs.options.readAheadBlocks();
        boolean sequential = f.nextSequentialBlock == first || first == 0;
        f.nextSequentialBlock = last + 1;
        if (window <= 0) {
            return;
        }
        if (!sequential) {
            f.readAheadEnd = 0;
            return;
        }
        long next = last + 1;
        if (f.readAheadEnd - next >= window / 2 && f.readAheadEnd <= next + window) {
            return;
        }
        long from = Math.max(next, f.readAheadEnd);
        if (from > next + window) {
            from = next;
        }
        prefetch(i, from, (int) (next + window - from));
        f.readAheadEnd = next + window;
    }

    private void prefetch(Inode i, long from, int count) {
        long end = (i.size + Layout.BLOCK_SIZE - 1) / Layout.BLOCK_SIZE;
        i.lock.lock();
        try {
            long b = from;
            while (b < end && b < from + count) {
                long p = i.extents.map(b);
                if (p == 0) {
                    b++;
                    continue;
                }
                int run = (int) Math.min(i.extents.runLength(b), Math.min(end, from + count) - b);
                fs.cache.prefetch(p, run);
                b += run;
            }
        } finally {
            i.lock.unlock();
        }
    }

    int write(Credentials who, long handle, MemorySegment src) throws FsException {
        return fs.call(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            synchronized (f) {
                boolean append = (f.flags & OpenFlags.O_APPEND) != 0;
                int n = writeAt(who, f, append ? -1 : f.position, src);
                f.position = append ? f.inode.size : f.position + n;
                fs.changed(f.inode);
                return n;
            }
        });
    }

    int pwrite(Credentials who, long handle, long offset, MemorySegment src) throws FsException {
        return fs.call(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            if (offset < 0) {
                throw new FsException(Errno.EINVAL, "negative offset");
            }
            int n = writeAt(who, f, (f.flags & OpenFlags.O_APPEND) != 0 ? -1 : offset, src);
            fs.changed(f.inode);
            return n;
        });
    }

    /** Writes at {@code offset} (-1: at end of file), in transactions of bounded size. */
    private int writeAt(Credentials who, FsCore.OpenFile f, long offset, MemorySegment src) throws FsException {
        if (!OpenFlags.canWrite(f.flags)) {
            throw new FsException(Errno.EBADF, "not open for writing");
        }
        Inode i = f.inode;
        long total = Math.min(src.byteSize(), Integer.MAX_VALUE - Layout.BLOCK_SIZE);
        if (total == 0) {
            return 0;
        }
        int written = 0;
        long at = offset;
        boolean checkpointed = false;
        while (written < total) {
            int chunk = (int) Math.min(total - written, (long) FsCore.WRITE_CHUNK_BLOCKS * Layout.BLOCK_SIZE);
            int n;
            try {
                n = writeChunkInTx(who, i, at, written == 0 && chunk == total ? src : src.asSlice(written, chunk));
            } catch (NoSpaceException e) {
                if (written > 0) {
                    return written;
                }
                throw e;
            } catch (FsException e) {
                if (written > 0 && e.errno() == Errno.EFBIG) {
                    return written;
                }
                throw e;
            }
            written += n;
            if (at >= 0) {
                at += n;
            }
            if (n < chunk) {
                // A chunk that ran out of space inside its transaction comes back short rather than as ENOSPC, so
                // run() had no chance to reclaim blocks freed since the last checkpoint: do it here, once per
                // shortage, before reporting a short write to the caller while space is really there.
                if (checkpointed || !fs.reclaimFreedBlocks()) {
                    break;
                }
                checkpointed = true;
                continue;
            }
            checkpointed = false;
        }
        try {
            fs.writeBack.throttle(i.dirtyData);
        } catch (IOException e) {
            throw fs.ioError(e);
        }
        return written;
    }

    /**
     * {@link #run} for one {@link #writeChunk}, spelled out: a write of one slot's data is the hottest path there is,
     * and a lambda capturing its five arguments was an allocation per write.
     */
    private int writeChunkInTx(Credentials who, Inode i, long offset, MemorySegment src) throws FsException {
        fs.checkWritable();
        for (int attempt = 0; ; attempt++) {
            try (Journal.Handle h = fs.journal.begin()) {
                int n = writeChunk(h.tx(), who, i, offset, src);
                FsCore.Recording r = FsCore.RECORDING.get();
                if (r != null) {
                    fs.exactlyOnce.record(h.tx(), r, n);
                }
                return n;
            } catch (NoSpaceException e) {
                if (attempt > 0 || !fs.reclaimFreedBlocks()) {
                    throw e;
                }
            } catch (FsException e) {
                throw e;
            } catch (IOException e) {
                throw fs.ioError(e);
            }
        }
    }

    private int writeChunk(Transaction tx, Credentials who, Inode i, long offset, MemorySegment src)
            throws IOException {
        // A close on another lane may have freed the (unlinked) file after this write found its handle.
        FsCore.lockLive(i, Errno.EBADF, "the file was closed");
        try {
            long pos = offset < 0 ? i.size : offset;
            int len = (int) src.byteSize();
            if (pos >= FsCore.MAX_FILE_SIZE) {
                throw new FsException(Errno.EFBIG, "file too large");
            }
            len = (int) Math.min(len, FsCore.MAX_FILE_SIZE - pos);
            int done = 0;
            boolean extentsChanged = false;
            try {
                while (done < len) {
                    long p = pos + done;
                    long lblk = p / Layout.BLOCK_SIZE;
                    int inBlock = (int) (p % Layout.BLOCK_SIZE);
                    int n = Math.min(len - done, Layout.BLOCK_SIZE - inBlock);
                    long pblk = i.extents.map(lblk);
                    boolean fresh = false;
                    if (pblk == 0) {
                        long remainingBlocks = (pos + len - 1) / Layout.BLOCK_SIZE - lblk + 1;
                        int want = (int) Math.min(
                                remainingBlocks, Math.min(i.extents.holeLength(lblk), FsCore.WRITE_CHUNK_BLOCKS));
                        fs.allocData(tx, who, i, lblk, want);
                        extentsChanged = true;
                        pblk = i.extents.map(lblk);
                        fresh = true;
                    }
                    boolean whole = n == Layout.BLOCK_SIZE;
                    Buffer b = fs.cache.get(pblk, !(whole || fresh));
                    try {
                        if (fresh && !whole) {
                            b.data().fill((byte) 0);
                        }
                        MemorySegment.copy(src, done, b.data(), inBlock, n);
                        fs.dataChanged(tx, i, b, pblk);
                    } finally {
                        fs.cache.release(b);
                    }
                    done += n;
                }
            } catch (NoSpaceException e) {
                if (done == 0) {
                    if (extentsChanged) {
                        fs.table.store(tx, i, true);
                    }
                    throw e;
                }
            }
            long end = pos + done;
            FsCore.Recording r = FsCore.RECORDING.get();
            if (r != null) {
                r.writeEnd = end;
            }
            if (end > i.size) {
                i.size = end;
                i.dataSeq = tx.seq();
            }
            if (extentsChanged) {
                i.dataSeq = tx.seq();
            }
            long now = fs.now();
            i.mtime = now;
            i.ctime = now;
            FsCore.killPrivs(who, i);
            fs.table.store(tx, i, extentsChanged);
            fs.observer.written(who, i.ino);
            return done;
        } finally {
            i.lock.unlock();
        }
    }

    // truncate and sync

    void truncate(Credentials who, String path, long size) throws FsException {
        fs.perform(() -> {
            if (size < 0) {
                throw new FsException(Errno.EINVAL, "negative size");
            }
            fs.run(tx -> {
                Inode i = fs.paths.resolve(who, path, true);
                if (i.isDirectory()) {
                    throw new FsException(Errno.EISDIR, path);
                }
                if (!i.isRegular()) {
                    throw new FsException(Errno.EINVAL, "truncate of a special file: " + path);
                }
                Access.check(who, i, Access.WRITE, path);
                truncateLocked(tx, who, i, size, path);
                fs.changed(i);
                return null;
            });
        });
    }

    void ftruncate(Credentials who, long handle, long size) throws FsException {
        fs.perform(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            if (size < 0) {
                throw new FsException(Errno.EINVAL, "negative size");
            }
            if (!OpenFlags.canWrite(f.flags) || !f.inode.isRegular()) {
                throw new FsException(Errno.EINVAL, "not open for writing");
            }
            fs.run(tx -> {
                truncateLocked(tx, who, f.inode, size, "handle " + handle);
                return null;
            });
            fs.changed(f.inode);
        });
    }

    private void truncateLocked(Transaction tx, Credentials who, Inode i, long size, String subject)
            throws IOException {
        if (size > FsCore.MAX_FILE_SIZE) {
            throw new FsException(Errno.EFBIG, subject);
        }
        FsCore.lockLive(i, Errno.ENOENT, subject);
        try {
            fs.setSize(tx, i, size);
            long now = fs.now();
            i.mtime = now;
            i.ctime = now;
            FsCore.killPrivs(who, i);
            fs.table.store(tx, i, true);
            fs.observer.written(who, i.ino);
        } finally {
            i.lock.unlock();
        }
    }

    void fsync(Credentials who, long handle) throws FsException {
        fs.perform(() -> {
            syncInode(fs.handle(handle).inode, false);
        });
    }

    void fdatasync(Credentials who, long handle) throws FsException {
        fs.perform(() -> {
            syncInode(fs.handle(handle).inode, true);
        });
    }

    private void syncInode(Inode i, boolean dataOnly) throws FsException {
        try {
            long seq = dataOnly ? i.dataSeq : i.metaSeq;
            List<Long> dirty = List.copyOf(i.dirtyData);
            if (seq > fs.journal.committedSeq() && dirty.size() <= FsCore.JOURNALED_DATA_MAX) {
                // Small fsync: journal the data with the metadata; one batch, one flush.
                long target;
                try (Journal.Handle h = fs.journal.begin()) {
                    i.lock.lock();
                    try {
                        for (long b : i.dirtyData) {
                            fs.journal.journalData(h.tx(), b);
                        }
                        i.dirtyData.clear();
                    } finally {
                        i.lock.unlock();
                    }
                    target = h.tx().seq();
                }
                fs.journal.commitUpTo(Math.max(seq, target));
            } else if (seq > fs.journal.committedSeq()) {
                fs.journal.commitWithData(dirty, seq);
            } else {
                // A write and a flush: a blocking wait from the start, so a polling worker lends its other lanes at
                // once rather than after the scheduler's 200 us threshold.
                ManagedBlocking.begin();
                try {
                    fs.cache.writeBack(dirty);
                    fs.io.flush();
                } finally {
                    ManagedBlocking.end();
                }
            }
            // Under the lock: writers mark a block dirty and list it in one step, so none is dropped here.
            i.lock.lock();
            try {
                i.dirtyData.removeIf(b -> !fs.cache.isDirty(b));
            } finally {
                i.lock.unlock();
            }
        } catch (IOException e) {
            throw fs.ioError(e);
        }
    }

    void sync() throws FsException {
        fs.perform(() -> {
            ManagedBlocking.begin();
            try {
                fs.cache.writeBackAll();
                fs.journal.commitUpTo(fs.journal.runningSeq());
                fs.io.flush();
            } catch (IOException e) {
                throw fs.ioError(e);
            } finally {
                ManagedBlocking.end();
            }
        });
    }

    // holes and preallocation

    long lseek(Credentials who, long handle, long offset, int whence) throws FsException {
        return fs.call(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            if ((whence != FileSystemService.SEEK_DATA && whence != FileSystemService.SEEK_HOLE) || offset < 0) {
                throw new FsException(Errno.EINVAL, "lseek whence " + whence + " offset " + offset);
            }
            Inode i = f.inode;
            i.lock.lock();
            try {
                long size = i.size;
                if (offset >= size) {
                    throw new FsException(Errno.ENXIO, "offset " + offset + " at or past the end");
                }
                return whence == FileSystemService.SEEK_DATA
                        ? Holes.nextData(i.extents, offset, size)
                        : Holes.nextHole(i.extents, offset, size);
            } finally {
                i.lock.unlock();
            }
        });
    }

    void fallocate(Credentials who, long handle, int mode, long offset, long length) throws FsException {
        fs.perform(() -> {
            FsCore.OpenFile f = fs.handle(handle);
            if (offset < 0 || length <= 0) {
                throw new FsException(Errno.EINVAL, "fallocate offset " + offset + " length " + length);
            }
            if (mode != 0) {
                // Blocks past the end (KEEP_SIZE) and holes in the middle (PUNCH_HOLE) are not kept by this layout.
                throw new FsException(Errno.EOPNOTSUPP, "fallocate mode " + mode);
            }
            if (!OpenFlags.canWrite(f.flags)) {
                throw new FsException(Errno.EBADF, "handle " + handle + " is not open for writing");
            }
            if (!f.inode.isRegular()) {
                throw new FsException(Errno.ENODEV, "fallocate of a file that is not regular");
            }
            long end = offset + length;
            if (end < 0 || end > FsCore.MAX_FILE_SIZE) {
                throw new FsException(Errno.EFBIG, "fallocate up to " + end);
            }
            long last = (end - 1) / Layout.BLOCK_SIZE;
            for (long lblk = offset / Layout.BLOCK_SIZE; lblk <= last; ) {
                long from = lblk;
                long upTo = Math.min(last + 1, from + FsCore.WRITE_CHUNK_BLOCKS);
                fs.run(tx -> allocateRange(tx, who, f.inode, from, upTo, end, handle));
                lblk = upTo;
            }
            fs.changed(f.inode);
        });
    }

    /**
     * Allocates zeroed blocks for the holes of logical blocks {@code [from, upTo)} and grows the size to cover them
     * (never past {@code end}), so no block lies beyond the size. Idempotent, so run()'s retry after a reclaim is safe.
     */
    private Void allocateRange(Transaction tx, Credentials who, Inode i, long from, long upTo, long end, long handle)
            throws IOException {
        FsCore.lockLive(i, Errno.EBADF, "handle " + handle);
        try {
            boolean extentsChanged = false;
            boolean completed = false;
            try {
                for (long lblk = from; lblk < upTo; ) {
                    if (i.extents.map(lblk) != 0) {
                        lblk += i.extents.runLength(lblk);
                        continue;
                    }
                    int want = (int) Math.min(upTo - lblk, Math.min(i.extents.holeLength(lblk), 64));
                    long got = fs.allocData(tx, who, i, lblk, want);
                    extentsChanged = true;
                    for (long k = lblk; k < lblk + got; k++) {
                        long pblk = i.extents.map(k);
                        Buffer b = fs.cache.get(pblk, false);
                        try {
                            b.data().fill((byte) 0);
                            fs.dataChanged(tx, i, b, pblk);
                        } finally {
                            fs.cache.release(b);
                        }
                    }
                    lblk += got;
                }
                completed = true;
            } finally {
                // Also after ENOSPC part way: the blocks allocated so far stay, and the size must cover them.
                boolean grown = false;
                if (completed || extentsChanged) {
                    long covered = Math.min(end, upTo * Layout.BLOCK_SIZE);
                    if (covered > i.size) {
                        i.size = covered;
                        grown = true;
                    }
                }
                if (extentsChanged || grown) {
                    long now = fs.now();
                    if (grown) {
                        i.mtime = now;
                    }
                    i.ctime = now;
                    i.dataSeq = tx.seq();
                    fs.table.store(tx, i, extentsChanged);
                }
            }
            return null;
        } finally {
            i.lock.unlock();
        }
    }
}
