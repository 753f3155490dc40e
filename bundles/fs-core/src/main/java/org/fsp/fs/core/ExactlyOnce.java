package org.fsp.fs.core;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import org.fsp.api.fs.Credentials;
import org.fsp.api.fs.Errno;
import org.fsp.api.fs.FsException;
import org.fsp.api.fs.OpenFlags;
import org.fsp.api.fs.SessionRecords;
import org.fsp.fs.core.inode.Inode;
import org.fsp.fs.core.journal.Journal;
import org.fsp.fs.core.journal.Transaction;
import org.fsp.fs.core.layout.Geometry;
import org.fsp.fs.core.layout.Layout;

/**
 * What lets a client carry on across a restart of fspd (docs/recovery.md): the exactly-once records of recorded
 * requests, written in the journal transaction of the change they record, and looked up when a client re-issues a
 * request; the session tokens and their owners; and the re-opening of a client's handles by their HMAC-signed tokens
 * (inode, generation, flags), at the position the client kept. Runs on the mounted file system ({@link FsCore}, which
 * implements {@link org.fsp.api.fs.SessionRecords} with this class).
 *
 * <p>A typical recorded call: {@link #recording} sets the thread's record, the operation runs, and
 * {@link FsCore#run} calls {@link #record} with the result before its transaction closes; a re-issued call finds it
 * with {@link #recorded} and is answered from it.
 */
final class ExactlyOnce {

    private final FsCore fs;

    ExactlyOnce(FsCore fs) {
        this.fs = fs;
    }

    /** Writes the record of {@code r} with what the call returned in {@code tx}, the transaction of its change. */
    void record(Transaction tx, FsCore.Recording r, Object result) throws IOException {
        if (fs.sessions == null) {
            return;
        }
        SessionRecords.Outcome o;
        if (result instanceof Long h && fs.handles.get(h) instanceof FsCore.OpenFile f) {
            o = new SessionRecords.Outcome(0, f.inode.ino, f.inode.generation, reopenFlags(f.flags));
        } else if (result instanceof Integer n) {
            o = new SessionRecords.Outcome(n, r.writeEnd, 0, 0);
        } else {
            o = new SessionRecords.Outcome(0, 0, 0, 0);
        }
        if (!fs.sessions.write(tx, r.high, r.low, r.key, r.seq, o, System.currentTimeMillis())) {
            FsCore.LOG.warn("session table full ({} records): the oldest record gave way", fs.sessions.capacity());
        }
        r.txSeq = tx.seq();
        r.outcome = o;
    }

    boolean recordsKept() {
        return fs.sessions != null;
    }

    boolean claim(long tokenHigh, long tokenLow, int uid) {
        return fs.sessions == null || fs.sessions.claim(tokenHigh, tokenLow, uid);
    }

    SessionRecords.Outcome recorded(long tokenHigh, long tokenLow, int key, long seq) {
        if (fs.sessions == null) {
            return null;
        }
        try {
            return fs.sessions.recorded(tokenHigh, tokenLow, key, seq);
        } catch (IOException e) {
            fs.stopWriting("session record read", e);
            return null;
        }
    }

    <T> T recording(long tokenHigh, long tokenLow, int key, long seq, SessionRecords.RecordedCall<T> call)
            throws FsException {
        FsCore.LAST_RECORDING.remove();
        if (fs.sessions == null) {
            return call.call();
        }
        FsCore.Recording r = new FsCore.Recording(tokenHigh, tokenLow, key, seq);
        FsCore.RECORDING.set(r);
        try {
            return call.call();
        } finally {
            FsCore.RECORDING.remove();
            FsCore.LAST_RECORDING.set(new Object[] {r.outcome, r.txSeq});
        }
    }

    SessionRecords.Outcome lastRecording() {
        Object[] last = FsCore.LAST_RECORDING.get();
        return last == null ? null : (SessionRecords.Outcome) last[FsCore.LAST_OUTCOME];
    }

    void commitRecording() throws FsException {
        Object[] last = FsCore.LAST_RECORDING.get();
        long seq = last == null ? 0 : (Long) last[FsCore.LAST_TX_SEQ];
        if (seq == 0 || fs.journal.writtenSeq() >= seq) {
            return;
        }
        // Written is enough: the record must outlive this process, and a power loss may lose an unsynced change as
        // POSIX allows. The journal announces the waits that block (ManagedBlocking) itself: with a shadow this is
        // usually a memory copy, too short to hand the worker's other lanes to a stand-in and back.
        try {
            fs.journal.writeUpTo(seq);
        } catch (IOException e) {
            throw fs.ioError(e);
        }
    }

    void commitChanges() throws FsException {
        fs.perform(() -> {
            long seq = fs.journal.runningSeq();
            if (fs.journal.writtenSeq() >= seq) {
                return;
            }
            try {
                fs.journal.writeUpTo(seq);
            } catch (IOException e) {
                throw fs.ioError(e);
            }
        });
    }

    void forget(long tokenHigh, long tokenLow) {
        if (fs.sessions == null || fs.failed || fs.unmounted || !fs.sessions.knows(tokenHigh, tokenLow)) {
            return;
        }
        try (Journal.Handle h = fs.journal.begin()) {
            fs.sessions.erase(h.tx(), tokenHigh, tokenLow);
        } catch (IOException e) {
            fs.stopWriting("session record erase", e);
        }
    }

    void reopenToken(long tokenHigh, long tokenLow, long handle, MemorySegment at) throws FsException {
        FsCore.OpenFile f = fs.handle(handle);
        int flags = reopenFlags(f.flags);
        at.set(Layout.LONG, 0, f.inode.ino);
        at.set(Layout.INT, 8, f.inode.generation);
        at.set(Layout.INT, 12, flags);
        byte[] mac = fs.sessions == null
                ? new byte[16]
                : fs.sessions.mac(tokenHigh, tokenLow, f.inode.ino, f.inode.generation, flags);
        MemorySegment.copy(mac, 0, at, Layout.BYTE, 16, 16);
    }

    long reopen(Credentials who, long tokenHigh, long tokenLow, MemorySegment token, int flags, long position)
            throws FsException {
        if (fs.sessions == null) {
            throw new FsException(Errno.ENOSYS, "this image has no session table");
        }
        long ino = token.get(Layout.LONG, 0);
        int generation = token.get(Layout.INT, 8);
        int granted = token.get(Layout.INT, 12);
        byte[] mac = new byte[16];
        MemorySegment.copy(token, Layout.BYTE, 16, mac, 0, 16);
        if (!SessionTable.same(mac, fs.sessions.mac(tokenHigh, tokenLow, ino, generation, granted))) {
            throw new FsException(Errno.EACCES, "re-open token not issued to this session");
        }
        if (flags != granted && flags != (granted & ~OpenFlags.O_APPEND)) {
            throw new FsException(Errno.EINVAL, "re-open flags 0" + Integer.toOctalString(flags));
        }
        if (position < 0) {
            throw new FsException(Errno.EINVAL, "position " + position);
        }
        return openInode(ino, generation, flags, position);
    }

    long reopenRecorded(Credentials who, SessionRecords.Outcome opened) throws FsException {
        return openInode(opened.inoOrPosition(), opened.generation(), opened.flags(), 0);
    }

    int generation(long ino) throws FsException {
        return fs.call(() -> {
            if (ino < Geometry.ROOT_INO || ino >= fs.geometry.inodeCount() || !fs.alloc.inodeInUse(ino)) {
                throw new FsException(Errno.ESTALE, "inode " + ino);
            }
            Inode i = fs.table.get(ino);
            if (i.freed || i.mode == 0) {
                throw new FsException(Errno.ESTALE, "inode " + ino);
            }
            return i.generation;
        });
    }

    long position(long handle) throws FsException {
        FsCore.OpenFile f = fs.handle(handle);
        synchronized (f) {
            return f.position;
        }
    }

    /** The flags a re-opened handle gets: the open's, without those that act only at open (create, truncate). */
    private static int reopenFlags(int flags) {
        return flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC);
    }

    /** A new handle on inode {@code ino} if it is still the one of {@code generation}; ESTALE if not. */
    private long openInode(long ino, int generation, int flags, long position) throws FsException {
        fs.enter();
        try {
            fs.checkWritable();
            if (ino <= Geometry.ROOT_INO || ino >= fs.geometry.inodeCount() || !fs.alloc.inodeInUse(ino)) {
                throw new FsException(Errno.ESTALE, "inode " + ino);
            }
            Inode i = fs.table.get(ino);
            i.lock.lock();
            try {
                if (i.freed || i.mode == 0 || i.generation != generation) {
                    throw new FsException(Errno.ESTALE, "inode " + ino + " generation " + generation);
                }
                i.openCount++;
            } finally {
                i.lock.unlock();
            }
            long h = fs.nextHandle.getAndIncrement();
            FsCore.OpenFile f = new FsCore.OpenFile(i, flags);
            f.position = position;
            fs.handles.put(h, f);
            return h;
        } catch (FsException e) {
            throw e; // ESTALE is the answer, not a device error
        } catch (IOException e) {
            throw fs.ioError(e);
        } finally {
            fs.exit();
        }
    }
}
